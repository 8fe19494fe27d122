"""Fixture objects in the JSON shapes of SimpleAPI 1.15 (``components/schemas``).

Money is ``{"currency", "amount"}`` with the amount as a decimal string; instants are
``YYYY-MM-DDTHH:MM:SSZ``; dates ``YYYY-MM-DD``. Only properties a response may carry are
written: the spec marks some order fields (``startDate``, ``planId``, ``subscriptionPeriod``…)
write-only, and a reseller's users are the sandbox's own, never served.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from psasync.domain.money import extended_amount
from psasync.sandbox.marketplace.fixture import (
    Account,
    Customer,
    Money,
    Order,
    OrderDetail,
    Period,
    Product,
    Reseller,
    Subscription,
    SubscriptionProduct,
)

Json = dict[str, Any]
# The platform rounds extended prices to the currency; the fixture's currencies have cents.
CURRENCY_DECIMALS = 2


def _compact(values: Json) -> Json:
    """Drop absent optional properties: the spec's properties are not nullable."""
    return {key: value for key, value in values.items() if value is not None}


def amount_text(amount: Decimal) -> str:
    return format(amount, "f")


def money(value: Money) -> Json:
    return {"currency": value.currency, "amount": amount_text(value.amount)}


def number(value: Decimal) -> int | float:
    """A quantity as the JSON number the spec's ``double`` asks for.

    Whole quantities are written as integers; fractional ones as the double whose shortest
    repr is the fixture's digits (quantities are not money; the vendor itself sends doubles).
    """
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def instant(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def period(value: Period | None) -> Json | None:
    return {"type": value.type, "duration": value.duration} if value else None


def _account(account: Account) -> Json:
    return _compact(
        {
            "id": account.id,
            "externalId": account.external_id,
            "status": account.status,
            "name": account.name,
            "address": account.address.model_dump(by_alias=True, exclude_none=True),
            "contactPersons": [
                person.model_dump(by_alias=True, exclude_none=True)
                for person in account.contact_persons
            ],
            "language": account.language,
            "taxRegId": account.tax_reg_id,
        }
    )


def reseller(value: Reseller) -> Json:
    return {**_account(value), "currency": value.currency}


def customer(value: Customer) -> Json:
    return {**_account(value), "resellerId": value.reseller_id}


def _extended(quantity: Decimal, unit: Money) -> Json:
    total = extended_amount(quantity, unit.amount, decimals=CURRENCY_DECIMALS)
    return {"currency": unit.currency, "amount": amount_text(total)}


def order_detail(detail: OrderDetail, *, product: Product | None) -> Json:
    return _compact(
        {
            "type": detail.type,
            "mpn": detail.mpn,
            "productId": product.id if product else None,
            "duration": period(detail.duration),
            "description": detail.description,
            "quantity": number(detail.quantity),
            "unitPrice": money(detail.unit_price),
            # Not in the spec's OrderDetail: the reseller's cost the fixture gives (DESIGN §4).
            "unitCost": money(detail.unit_cost) if detail.unit_cost else None,
            "extendedPrice": _extended(detail.quantity, detail.unit_price),
        }
    )


def _order_total(order: Order) -> Json | None:
    if not order.details:
        return None
    currency = order.details[0].unit_price.currency
    total = sum(
        (
            extended_amount(d.quantity, d.unit_price.amount, decimals=CURRENCY_DECIMALS)
            for d in order.details
        ),
        Decimal(0),
    )
    return {"currency": currency, "amount": amount_text(total)}


def order(value: Order, *, products_by_mpn: dict[str, Product]) -> Json:
    """An order in the shape of both ``Order`` (lists) and ``OrderDetailed`` (one order).

    ``subscriptionId`` is in OrderDetailed only, but lists carry it too (the list can be
    filtered by it, and the list schema allows further properties).
    """
    return _compact(
        {
            "id": value.id,
            "orderNumber": value.order_number,
            "type": value.type,
            "customerId": value.customer_id,
            "subscriptionId": value.subscription_id,
            "poNumber": value.po_number,
            "creationDate": instant(value.creation_date),
            "provisioningDate": instant(value.provisioning_date),
            "status": value.status,
            "total": _order_total(value),
            "lastBillingDate": day(value.last_billing_date),
            "nextBillingDate": day(value.next_billing_date),
            "details": [
                order_detail(detail, product=products_by_mpn.get(detail.mpn))
                for detail in value.details
            ],
        }
    )


def subscription(value: Subscription) -> Json:
    """The list shape (``Subscription``)."""
    return _compact(
        {
            "id": value.id,
            "name": value.name,
            "customerId": value.customer_id,
            "status": value.status,
            "creationDate": day(value.creation_date),
            "renewalDate": day(value.renewal_date),
            "expirationDate": day(value.expiration_date),
            "billingModel": value.billing_model,
            "billingPeriod": period(value.billing_period),
            "subscriptionPeriod": period(value.subscription_period),
        }
    )


def _subscription_product(item: SubscriptionProduct, *, product: Product | None) -> Json:
    return _compact(
        {
            "mpn": item.mpn,
            "vendor": product.vendor if product else None,
            "id": product.id if product else None,
            "quantity": item.quantity,
            "name": product.name if product else None,
            "unitPrice": money(item.unit_price),
            "unitCost": money(item.unit_cost) if item.unit_cost else None,
            "extendedPrice": _extended(Decimal(item.quantity), item.unit_price),
        }
    )


def subscription_detailed(value: Subscription, *, products_by_mpn: dict[str, Product]) -> Json:
    """One subscription (``SubscriptionDetailed``): with its products and total price."""
    products = [
        _subscription_product(item, product=products_by_mpn.get(item.mpn))
        for item in value.products
    ]
    detailed = {**subscription(value), "products": products}
    if value.products:
        currency = value.products[0].unit_price.currency
        total = sum((Decimal(p["extendedPrice"]["amount"]) for p in products), Decimal(0))
        detailed["totalPrice"] = {"currency": currency, "amount": amount_text(total)}
    return detailed


def product(value: Product) -> Json:
    return _compact(
        {
            "mpn": value.mpn,
            "vendor": value.vendor,
            "id": value.id,
            "serviceName": value.service_name,
            "name": value.name,
            "minimumQuantity": _count(value.minimum_quantity),
            "maximumQuantity": _count(value.maximum_quantity),
            "prices": [{"type": p.type, **money(p)} for p in value.prices],
            "costs": [{"type": c.type, **money(c)} for c in value.costs],
            "billingPeriod": period(value.billing_period),
            "subscriptionPeriod": period(value.subscription_period),
            "billingModel": value.billing_model,
        }
    )


def _count(value: int | None) -> str | None:
    # The spec types a product's minimum and maximum quantity as strings.
    return str(value) if value is not None else None


def page(items: list[Json], *, offset: int, limit: int, total: int) -> Json:
    """A ``ResultList…`` body."""
    return {"data": items, "pagination": {"offset": offset, "limit": limit, "total": total}}
