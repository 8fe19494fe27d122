"""The addition planner: from a task and an agreement to the actions a sync applies.

Pure: the same inputs always give the same plan. DESIGN.md §3 states the rules; where an order
line cannot be planned safely the plan says so in a notice rather than guessing.

For a PSA that prorates by itself (``PlanOptions.psa``, Autotask: DESIGN §11) a recurring line
changes by one dated action, with no prorate line: a Sales Order creates its units from its
date, a Change Order updates the ongoing line to the new total from its date, a Cancellation
takes the units to 0 from its date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from psasync.domain.agreements import Addition, Agreement, CatalogItem
from psasync.domain.billing import ONE_DAY
from psasync.domain.orders import LineType, OrderLine, OrderType
from psasync.domain.plan import (
    AdditionKind,
    ChangeStrategy,
    NoticeCode,
    Plan,
    PlanOptions,
    PriceSource,
    Task,
)
from psasync.domain.plan_builder import (
    PlanBuilder,
    Pricing,
    base_description,
    format_quantity,
    signed_quantity,
)


def plan_additions(
    *,
    task: Task,
    agreement: Agreement,
    additions: Sequence[Addition],
    catalog: Mapping[str, CatalogItem],
    price_source: PriceSource,
    options: PlanOptions | None = None,
    line_price_sources: Mapping[int, PriceSource] | None = None,
    setup_items: Mapping[str, CatalogItem] | None = None,
) -> Plan:
    """Plan the changes a task makes to one agreement.

    ``catalog`` maps each marketplace MPN to the ConnectWise catalog item it is mapped to, and
    ``setup_items`` to its setup-fee item where it has one; ``line_price_sources`` overrides
    ``price_source`` for single order lines. Actions touching a span the agreement has already
    been invoiced for (``agreement.invoiced_through``) block the plan.
    """
    builder = PlanBuilder(
        task=task,
        agreement=agreement,
        baseline=tuple(sorted(additions, key=lambda addition: addition.id)),
        catalog=catalog,
        setup_items=setup_items or {},
        options=options or PlanOptions(),
        price_sources=line_price_sources or {},
        default_source=price_source,
    )
    if task.order.type is OrderType.CANCELLATION:
        _plan_cancellation(builder)
    else:
        for line in task.order.lines:
            _plan_line(builder, line)
    return builder.finish()


_LineHandler = Callable[[PlanBuilder, OrderLine, CatalogItem], None]


def _plan_line(builder: PlanBuilder, line: OrderLine) -> None:
    label = f"Line {line.number} ({line.type.value}, {line.mpn})"
    handler = _HANDLERS.get((builder.task.order.type, line.type))
    if handler is None:
        builder.notice(
            NoticeCode.LINE_IGNORED,
            f"{label} needs no change for a {builder.task.order.type.label}.",
            line.number,
        )
        return
    if line.quantity <= 0 and handler is not _plan_change_recurring:
        builder.notice(
            NoticeCode.LINE_IGNORED,
            f"{label} has quantity {format_quantity(line.quantity)}: nothing to bill.",
            line.number,
        )
        return
    item = builder.catalog_item(line.mpn, line.number)
    if item is None or not builder.same_currency(line):
        return
    if not builder.change_date_in_period(line.number):
        return
    handler(builder, line, item)


def _plan_sales_recurring(builder: PlanBuilder, line: OrderLine, item: CatalogItem) -> None:
    """A new subscription: recurring from the next period, plus a prorate for the rest of this."""
    ok, current = builder.single_ongoing(item, line.number)
    if current is not None:
        adds = (
            f"{builder.psa.vendor} adds the new subscription's units to it"
            if builder.psa.prorates_itself
            else "the new subscription adds another addition"
        )
        builder.notice(
            NoticeCode.EXISTING_ONGOING_ADDITION,
            f"Agreement {builder.agreement.name!r} already bills "
            f"{format_quantity(current.quantity)} × {item.identifier} (addition #{current.id}); "
            f"{adds}.",
            line.number,
        )
    prices = builder.prices(line, item, current if ok else None)
    period, start = builder.task.period, builder.change_date
    if start == period.start or builder.psa.prorates_itself:
        builder.create_recurring(line, item, quantity=line.quantity, prices=prices, effective=start)
        return
    builder.create_recurring(
        line, item, quantity=line.quantity, prices=prices, effective=period.end
    )
    builder.create_prorate(line, item, quantity=line.quantity, prices=prices)


def _plan_change_recurring(builder: PlanBuilder, line: OrderLine, item: CatalogItem) -> None:
    """An upgrade or downgrade: the new total from the next period, the change prorated."""
    ok, current = builder.single_ongoing(item, line.number)
    if not ok:
        return
    new_total = _new_total(builder, line, current)
    _check_quantities(builder, line, item, current=current, new_total=new_total)
    prices = builder.prices(line, item, current)
    if builder.psa.prorates_itself:
        _adjust_units(builder, line, item, current=current, new_total=new_total, prices=prices)
        return
    period = builder.task.period
    replaces = builder.options.change_strategy is ChangeStrategy.REPLACE
    if current is None:
        if new_total > 0:
            builder.create_recurring(
                line, item, quantity=new_total, prices=prices, effective=period.end
            )
    elif new_total <= 0:
        _retire(builder, line, current)
    elif replaces and _started_before(current, period.end):
        builder.cancel(line.number, line.mpn, current, cancelled=period.last_day)
        builder.create_recurring(
            line, item, quantity=new_total, prices=prices, effective=period.end
        )
    else:
        # Update in place, and also the replace strategy on an addition that only starts next
        # period: cancelling it in this period would end it before it begins.
        builder.update(line, current, quantity=new_total, prices=prices)
    if line.quantity != 0:
        builder.create_prorate(line, item, quantity=line.quantity, prices=prices)


def _adjust_units(
    builder: PlanBuilder,
    line: OrderLine,
    item: CatalogItem,
    *,
    current: Addition | None,
    new_total: Decimal,
    prices: Pricing,
) -> None:
    """A change for a PSA that prorates itself: the units go to the new total on the change
    date (never before the line starts), and the PSA bills the rest of the period."""
    quantity, day = max(new_total, Decimal(0)), builder.change_date
    if current is None:
        if quantity > 0:
            builder.create_recurring(line, item, quantity=quantity, prices=prices, effective=day)
        return
    start = current.effective_date
    builder.update(
        line,
        current,
        quantity=quantity,
        # Taken down to 0, the line keeps its prices: nothing is priced anew.
        prices=prices if quantity > 0 else Pricing.of(current),
        effective=day if start is None else max(day, start),
    )


def _new_total(builder: PlanBuilder, line: OrderLine, current: Addition | None) -> Decimal:
    subscription = builder.task.subscription
    total = subscription.quantity_of(line.mpn) if subscription else None
    if total is not None:
        return total
    before = current.quantity if current else Decimal(0)
    derived = before + line.quantity
    builder.notice(
        NoticeCode.PRODUCT_NOT_IN_SUBSCRIPTION,
        f"The subscription does not list {line.mpn}; its new quantity is taken as "
        f"{format_quantity(before)} {signed_quantity(line.quantity)} = "
        f"{format_quantity(derived)}.",
        line.number,
    )
    return derived


def _check_quantities(
    builder: PlanBuilder,
    line: OrderLine,
    item: CatalogItem,
    *,
    current: Addition | None,
    new_total: Decimal,
) -> None:
    delta = line.quantity
    if current is None:
        builder.notice(
            NoticeCode.NO_ONGOING_ADDITION,
            f"Agreement {builder.agreement.name!r} has no ongoing addition for "
            f"{item.identifier}; the plan follows the marketplace: "
            f"{_follows(builder, delta=delta, new_total=new_total)}.",
            line.number,
        )
    elif current.quantity + delta != new_total:
        builder.notice(
            NoticeCode.QUANTITY_MISMATCH,
            f"{builder.psa.vendor} bills {format_quantity(current.quantity)} × "
            f"{item.identifier}; with "
            f"the change of {signed_quantity(delta)} that makes "
            f"{format_quantity(current.quantity + delta)}, but the subscription now holds "
            f"{format_quantity(new_total)}. The plan follows the marketplace.",
            line.number,
        )


def _follows(builder: PlanBuilder, *, delta: Decimal, new_total: Decimal) -> str:
    if builder.psa.prorates_itself:
        return (
            f"{format_quantity(new_total)} from {builder.change_date.isoformat()}, all of them "
            f"prorated by {builder.psa.vendor} for the rest of this period"
        )
    return (
        f"{format_quantity(new_total)} from the next period and {signed_quantity(delta)} "
        "for the rest of this one"
    )


def _started_before(addition: Addition, day: dt.date) -> bool:
    return addition.effective_date is None or addition.effective_date < day


def _retire(builder: PlanBuilder, line: OrderLine, current: Addition) -> None:
    """Stop a product billing from the next period on."""
    period = builder.task.period
    if _started_before(current, period.end):
        builder.cancel(line.number, line.mpn, current, cancelled=period.last_day)
    else:
        builder.update(line, current, quantity=Decimal(0), prices=Pricing.of(current))


def _plan_one_time_fee(builder: PlanBuilder, line: OrderLine, item: CatalogItem) -> None:
    """A setup fee: charged once, in full, in the period the order takes effect.

    It bills as the product's setup-fee item when one is mapped, else as the product's item.
    """
    ok, setup = builder.setup_item(line.mpn, line.number)
    if not ok:
        return
    builder.create(
        line,
        setup or item,
        kind=AdditionKind.ONE_TIME,
        description=line.description.strip() or _setup_description(item, setup),
        quantity=line.quantity,
        prices=builder.setup_prices(line, item, setup),
        effective=builder.change_date,
        cancelled=builder.task.period.last_day,
    )


def _setup_description(item: CatalogItem, setup: CatalogItem | None) -> str:
    if setup is None:
        return f"{item.description} setup fee"
    return setup.customer_description.strip() or setup.description


def _plan_usage(builder: PlanBuilder, line: OrderLine, item: CatalogItem) -> None:
    """A usage line of a Billing Order: charged once for the usage period, never prorated."""
    period = builder.task.period
    builder.create(
        line,
        item,
        kind=AdditionKind.ONE_TIME,
        description=f"{base_description(line, item)} (usage {period.span})",
        quantity=line.quantity,
        prices=builder.prices(line, item, None),
        effective=period.start,
        cancelled=period.last_day,
    )


def _plan_cancellation(builder: PlanBuilder) -> None:
    """End each cancelled product's ongoing addition from the order's effective date.

    One that has started ends the day before; one that only starts later (left by an earlier
    Change, effective next period) has never billed and is deleted. For a PSA of adjustments
    one starting on the day itself is deleted too: its units go to 0 from its start.
    """
    if not builder.change_date_in_period():
        return
    for line_number, mpn in _cancelled_products(builder):
        item = builder.catalog_item(mpn, line_number)
        if item is None:
            continue
        ok, current = builder.single_ongoing(item, line_number)
        if not ok:
            continue
        if current is None:
            builder.notice(
                NoticeCode.NO_ONGOING_ADDITION,
                f"Agreement {builder.agreement.name!r} has no ongoing addition for "
                f"{item.identifier}: nothing to cancel.",
                line_number,
            )
            continue
        start, day = current.effective_date, builder.change_date
        if start is not None and (start > day or (start == day and builder.psa.prorates_itself)):
            builder.delete(line_number, mpn, current)
            continue
        # Effective on the day itself, it still bills that one day: never end before the start.
        last_day = day - ONE_DAY if start is None else max(day - ONE_DAY, start)
        builder.cancel(line_number, mpn, current, cancelled=last_day)


def _cancelled_products(builder: PlanBuilder) -> list[tuple[int, str]]:
    """(line number, MPN) per product the order cancels; every product if it lists none.

    Products taken from the subscription have no order line: they are numbered 0.
    """
    seen: dict[str, int] = {}
    for line in builder.task.order.lines:
        if line.type in (LineType.RECURRING, LineType.CANCELLATION):
            seen.setdefault(line.mpn, line.number)
    if not seen and builder.task.subscription is not None:
        seen = {product.mpn: 0 for product in builder.task.subscription.products}
    return [(number, mpn) for mpn, number in seen.items()]


_HANDLERS: dict[tuple[OrderType, LineType], _LineHandler] = {
    (OrderType.SALES, LineType.RECURRING): _plan_sales_recurring,
    (OrderType.SALES, LineType.SETUP): _plan_one_time_fee,
    (OrderType.CHANGE, LineType.RECURRING): _plan_change_recurring,
    (OrderType.CHANGE, LineType.SETUP): _plan_one_time_fee,
    (OrderType.BILLING, LineType.OVERUSE): _plan_usage,
}
