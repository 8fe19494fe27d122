"""Domain values as JSON for the store: the order a task was made from, the subscription it was
previewed with, and the plan a sync run applies.

Amounts are written as decimal strings and dates in ISO form, so a value read back is equal to
the one written, on every database.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from psasync.domain.agreements import BillCustomer, ProductRef
from psasync.domain.billing import PeriodLength, PeriodUnit
from psasync.domain.money import Money
from psasync.domain.orders import (
    LineType,
    Order,
    OrderLine,
    OrderStatus,
    OrderType,
    Subscription,
    SubscriptionProduct,
)
from psasync.domain.plan import Action, AdditionKind, PlannedAddition, PriceOrigin, PriceSource

Json = dict[str, Any]


def dump(value: Json) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def load(text: str) -> Json:
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise ValueError("a stored snapshot is not a JSON object")
    return loaded


def _money(value: Money | None) -> Json | None:
    return None if value is None else {"amount": str(value.amount), "currency": value.currency}


def _read_money(value: Json | None) -> Money | None:
    return None if value is None else Money(Decimal(value["amount"]), value["currency"])


def _instant(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _read_instant(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _read_day(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def order_to_json(order: Order) -> str:
    return dump(
        {
            "id": order.id,
            "number": order.number,
            "type": order.type.value,
            "status": order.status.value,
            "customerId": order.customer_id,
            "subscriptionId": order.subscription_id,
            "createdAt": _instant(order.created_at),
            "provisionedAt": _instant(order.provisioned_at),
            "lastBillingDate": _day(order.last_billing_date),
            "nextBillingDate": _day(order.next_billing_date),
            "lines": [
                {
                    "number": line.number,
                    "type": line.type.value,
                    "mpn": line.mpn,
                    "description": line.description,
                    "quantity": str(line.quantity),
                    "unitPrice": _money(line.unit_price),
                    "unitCost": _money(line.unit_cost),
                }
                for line in order.lines
            ],
        }
    )


def order_from_json(text: str) -> Order:
    data = load(text)
    return Order(
        id=data["id"],
        number=data["number"],
        type=OrderType(data["type"]),
        status=OrderStatus(data["status"]),
        customer_id=data["customerId"],
        subscription_id=data["subscriptionId"],
        created_at=dt.datetime.fromisoformat(data["createdAt"]),
        provisioned_at=_read_instant(data["provisionedAt"]),
        last_billing_date=_read_day(data["lastBillingDate"]),
        next_billing_date=_read_day(data["nextBillingDate"]),
        lines=tuple(
            OrderLine(
                number=line["number"],
                type=LineType(line["type"]),
                mpn=line["mpn"],
                description=line["description"],
                quantity=Decimal(line["quantity"]),
                unit_price=Money(
                    Decimal(line["unitPrice"]["amount"]), line["unitPrice"]["currency"]
                ),
                unit_cost=_read_money(line["unitCost"]),
            )
            for line in data["lines"]
        ),
    )


def subscription_to_json(subscription: Subscription) -> str:
    return dump(
        {
            "id": subscription.id,
            "customerId": subscription.customer_id,
            "billingPeriod": {
                "unit": subscription.billing_period.unit.value,
                "count": subscription.billing_period.count,
            },
            "createdOn": subscription.created_on.isoformat(),
            "products": [
                {"mpn": product.mpn, "quantity": str(product.quantity)}
                for product in subscription.products
            ],
        }
    )


def subscription_from_json(text: str) -> Subscription:
    data = load(text)
    period = data["billingPeriod"]
    return Subscription(
        id=data["id"],
        customer_id=data["customerId"],
        billing_period=PeriodLength(unit=PeriodUnit(period["unit"]), count=period["count"]),
        created_on=dt.date.fromisoformat(data["createdOn"]),
        products=tuple(
            SubscriptionProduct(mpn=p["mpn"], quantity=Decimal(p["quantity"]))
            for p in data["products"]
        ),
    )


def actions_to_json(actions: tuple[PlannedAddition, ...]) -> str:
    return dump({"actions": [_action(action) for action in actions]})


def actions_from_json(text: str) -> tuple[PlannedAddition, ...]:
    return tuple(_read_action(item) for item in load(text)["actions"])


def _action(action: PlannedAddition) -> Json:
    return {
        "action": action.action.value,
        "kind": action.kind.value,
        "key": action.key,
        "line": action.line,
        "product": {"id": action.product.id, "identifier": action.product.identifier},
        "mpn": action.mpn,
        "description": action.description,
        "quantity": str(action.quantity),
        "unitPrice": str(action.unit_price),
        "unitCost": str(action.unit_cost),
        "effectiveDate": action.effective_date.isoformat(),
        "cancelledDate": _day(action.cancelled_date),
        "billCustomer": action.bill_customer.value,
        "taxableFlag": action.taxable,
        "priceSource": action.price_source.value,
        "priceOrigin": action.price_origin.value,
        "skip": action.skip,
        "additionId": action.addition_id,
    }


def _read_action(item: Json) -> PlannedAddition:
    return PlannedAddition(
        action=Action(item["action"]),
        kind=AdditionKind(item["kind"]),
        key=item["key"],
        line=item["line"],
        product=ProductRef(id=item["product"]["id"], identifier=item["product"]["identifier"]),
        mpn=item["mpn"],
        description=item["description"],
        quantity=Decimal(item["quantity"]),
        unit_price=Decimal(item["unitPrice"]),
        unit_cost=Decimal(item["unitCost"]),
        effective_date=dt.date.fromisoformat(item["effectiveDate"]),
        cancelled_date=_read_day(item["cancelledDate"]),
        bill_customer=BillCustomer(item["billCustomer"]),
        taxable=item["taxableFlag"],
        price_source=PriceSource(item["priceSource"]),
        addition_id=item["additionId"],
        price_origin=_read_origin(item),
        skip=bool(item.get("skip", False)),
    )


def _read_origin(item: Json) -> PriceOrigin:
    """A journal written before price origins were kept: as planned then, marketplace prices
    came from the order and ConnectWise ones from the existing addition or the catalog."""
    stored = item.get("priceOrigin")
    if stored is not None:
        return PriceOrigin(stored)
    if item["action"] != Action.CREATE.value:
        return PriceOrigin.EXISTING_ADDITION
    if item["priceSource"] == PriceSource.MARKETPLACE.value:
        return PriceOrigin.MARKETPLACE
    return PriceOrigin.CATALOG
