"""Marketplace JSON → domain objects, each item on its own.

A list call must not fail because one item is odd: an order of a type psasync does not sync
(``migration``, ``unknown``, anything newer), a line type it does not bill (``renew``,
``discount``…), or an item missing a field psasync needs is left out with a reason
(:class:`Skipped`), logged, and returned next to the items that were read, so the caller can
show it. A subscription billed on a ``statement_day`` period is skipped the same way: the domain
only bills by day, month and year.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from psasync.adapters.marketplace.models import (
    Customer,
    Product,
    ProductPrice,
    ResellerAccount,
    SkipKind,
    Skipped,
    VendorAccount,
    VendorMoney,
    VendorOrder,
    VendorOrderDetail,
    VendorPeriod,
    VendorProduct,
    VendorSubscription,
)
from psasync.domain.billing import PeriodLength
from psasync.domain.errors import DomainError
from psasync.domain.money import Money, parse_money
from psasync.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    Subscription,
    SubscriptionProduct,
    line_type_from_marketplace,
    order_type_from_marketplace,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


class Unreadable(Exception):
    """An item (or part of one) psasync cannot use; the message is the reason."""


def item_id(raw: object) -> str:
    """The ``id`` of a raw item, for messages about items that could not be read."""
    if isinstance(raw, Mapping) and isinstance(raw.get("id"), str | int):
        return str(raw["id"])
    return "(no id)"


def validation_reason(error: ValidationError) -> str:
    """A one-line reason from pydantic's report, naming the vendor's field."""
    problems = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "the item"
        problems.append(f"{where}: {problem['msg']}")
    return "; ".join(problems)


def read_model(model: type[M], raw: object) -> M:
    """Validate ``raw`` as ``model``, or raise :class:`Unreadable` with the vendor field names."""
    if not isinstance(raw, Mapping):
        raise Unreadable(f"expected a JSON object, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise Unreadable(validation_reason(error)) from None


def money(value: VendorMoney) -> Money:
    """Domain money from the vendor's ``{currency, amount}``."""
    amount = value.amount
    # Amounts are strings in the API; a JSON number was decoded exactly (parse_float=Decimal),
    # so its text is the digits the vendor wrote.
    text = format(amount, "f") if isinstance(amount, Decimal) else amount
    try:
        return parse_money({"currency": value.currency, "amount": text})
    except DomainError as error:
        raise Unreadable(str(error)) from None


def skip(kind: SkipKind, raw_id: str, reason: str, *, line: int | None = None) -> Skipped:
    """Record and log one skipped item."""
    skipped = Skipped(kind=kind, id=raw_id, reason=reason, line=line)
    log.info("marketplace %s skipped: %s", kind.value, skipped)
    return skipped


# --- orders ----------------------------------------------------------------------------------


def map_order(raw: object) -> tuple[Order | None, list[Skipped]]:
    """The domain order of a raw order (None if skipped) and everything skipped on the way."""
    try:
        vendor = read_model(VendorOrder, raw)
        order_type = order_type_from_marketplace(vendor.type)
        if order_type is None:
            raise Unreadable(f"order type {vendor.type!r} is not one psasync syncs")
        status = _order_status(vendor.status)
    except Unreadable as error:
        return None, [skip(SkipKind.ORDER, item_id(raw), str(error))]
    lines, skipped = map_lines(vendor)
    try:
        order = Order(
            id=vendor.id,
            number=vendor.order_number or vendor.id,
            type=order_type,
            status=status,
            customer_id=vendor.customer_id,
            subscription_id=vendor.subscription_id,
            created_at=vendor.creation_date,
            provisioned_at=vendor.provisioning_date,
            last_billing_date=vendor.last_billing_date,
            next_billing_date=vendor.next_billing_date,
            lines=tuple(lines),
        )
    except DomainError as error:
        return None, [*skipped, skip(SkipKind.ORDER, vendor.id, str(error))]
    return order, skipped


def _order_status(value: str | None) -> OrderStatus:
    try:
        return OrderStatus(value or "")
    except ValueError:
        raise Unreadable(f"order status {value!r} is not a known one") from None


def map_lines(vendor: VendorOrder) -> tuple[list[OrderLine], list[Skipped]]:
    """The order's billable lines, numbered by their position in ``details``."""
    lines: list[OrderLine] = []
    skipped: list[Skipped] = []
    for number, raw in enumerate(vendor.details, start=1):
        try:
            lines.append(map_line(raw, number=number))
        except Unreadable as error:
            skipped.append(skip(SkipKind.ORDER_LINE, vendor.id, str(error), line=number))
    return lines, skipped


def map_line(raw: object, *, number: int) -> OrderLine:
    """One order detail as a domain line; raises :class:`Unreadable` with the reason."""
    detail = read_model(VendorOrderDetail, raw)
    line_type = line_type_from_marketplace(detail.type)
    if line_type is None:
        raise Unreadable(f"line type {detail.type!r} is not one psasync bills")
    if detail.mpn is None or detail.quantity is None or detail.unit_price is None:
        fields = {"mpn": detail.mpn, "quantity": detail.quantity, "unitPrice": detail.unit_price}
        missing = ", ".join(name for name, value in fields.items() if value is None)
        raise Unreadable(f"a {detail.type} line needs {missing}")
    return OrderLine(
        number=number,
        type=line_type,
        mpn=detail.mpn,
        description=detail.description or "",
        quantity=detail.quantity,
        unit_price=money(detail.unit_price),
        unit_cost=money(detail.unit_cost) if detail.unit_cost else None,
    )


# --- subscriptions, accounts, products ---------------------------------------------------------


def period_length(period: VendorPeriod) -> PeriodLength:
    """The domain period length, or :class:`Unreadable` (e.g. a ``statement_day`` period)."""
    try:
        return PeriodLength.from_marketplace(period.as_mapping())
    except DomainError as error:
        raise Unreadable(f"billing period {period.type}/{period.duration}: {error}") from None


def subscription(raw: object) -> Subscription:
    """A domain subscription; raises :class:`Unreadable` with the reason it cannot be one."""
    vendor = read_model(VendorSubscription, raw)
    try:
        products = tuple(
            SubscriptionProduct(mpn=product.mpn, quantity=product.quantity)
            for product in vendor.products
        )
        return Subscription(
            id=vendor.id,
            customer_id=vendor.customer_id,
            billing_period=period_length(vendor.billing_period),
            created_on=vendor.creation_date,
            products=products,
        )
    except DomainError as error:
        raise Unreadable(str(error)) from None


def customer(raw: object) -> Customer:
    vendor = read_model(VendorAccount, raw)
    return Customer(
        id=vendor.id,
        name=vendor.name,
        status=vendor.status,
        reseller_id=vendor.reseller_id,
        external_id=vendor.external_id,
        language=vendor.language,
    )


def reseller(raw: object, *, marketplace: str) -> ResellerAccount:
    vendor = read_model(VendorAccount, raw)
    return ResellerAccount(
        id=vendor.id,
        name=vendor.name,
        marketplace=marketplace,
        currency=vendor.currency,
        status=vendor.status,
        language=vendor.language,
    )


def product(raw: object) -> Product:
    vendor = read_model(VendorProduct, raw)
    length: PeriodLength | None = None
    if vendor.billing_period is not None:
        try:
            length = period_length(vendor.billing_period)
        except Unreadable:
            length = None  # e.g. statement_day: the product is still worth listing
    return Product(
        mpn=vendor.mpn,
        name=vendor.name or vendor.mpn,
        id=vendor.id,
        vendor=vendor.vendor,
        billing_model=vendor.billing_model,
        billing_period=length,
        prices=tuple(ProductPrice(type=p.type, money=money(p)) for p in vendor.prices),
        costs=tuple(ProductPrice(type=c.type, money=money(c)) for c in vendor.costs),
    )


def read_each(
    raws: list[Any], *, kind: SkipKind, read: Callable[[object], R]
) -> tuple[list[R], list[Skipped]]:
    """Apply ``read`` to each raw item; unreadable ones become :class:`Skipped`."""
    items: list[R] = []
    skipped: list[Skipped] = []
    for raw in raws:
        try:
            items.append(read(raw))
        except Unreadable as error:
            skipped.append(skip(kind, item_id(raw), str(error)))
    return items, skipped
