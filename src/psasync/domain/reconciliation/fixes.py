"""The plan actions that fix a reconciliation item, timed and kept out of invoiced spans.

Every action is a ``PlannedAddition``, so a fix is reviewed, checked and applied like a sync's
plan. Keys live in their own namespace, ``recon:{item id}:line{n}:{kind}``: ``n`` numbers the
item's actions from 1, ``kind`` is the addition kind of a create (``recurring``, ``prorate``) or
the action on an existing addition (``cancel``, ``delete``, ``update``). The item id is derived
from the item's facts and D, so a fix proposed again for the same drift carries the same keys
and is never created twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

from psasync.domain.agreements import Addition, Agreement, BillCustomer, CatalogItem
from psasync.domain.billing import ONE_DAY, BillingPeriod
from psasync.domain.invoiced import invoiced_notices
from psasync.domain.plan import (
    Action,
    AdditionKind,
    Plan,
    PlannedAddition,
    PriceOrigin,
    PriceSource,
)
from psasync.domain.proration import prorated_unit_amount
from psasync.domain.reconciliation.amounts import months_in_period
from psasync.domain.reconciliation.model import (
    Fix,
    MarketplaceProduct,
    MarketplaceSubscription,
    ReconciliationOptions,
)


def fix_key(item_id: str, *, line: int, action: Action, kind: AdditionKind) -> str:
    """``recon:3f2a9c1b7d4e:line1:recurring`` for a create, ``…:line2:cancel`` otherwise."""
    suffix = kind.value if action is Action.CREATE else action.value
    return f"recon:{item_id}:line{line}:{suffix}"


@dataclass(frozen=True, kw_only=True)
class Wanted:
    """What should bill for one subscription product, priced from the tenant's price source."""

    subscription: MarketplaceSubscription
    product: MarketplaceProduct
    item: CatalogItem
    price: Decimal
    cost: Decimal
    origin: PriceOrigin
    # How many months ``price`` is for: the billing cycle of the agreement it bills on.
    months: Fraction

    @property
    def description(self) -> str:
        """What the invoice calls it: the marketplace's words, else the catalog's."""
        return (
            self.product.description.strip()
            or self.item.customer_description.strip()
            or self.item.description
        )


@dataclass(frozen=True, kw_only=True)
class FixContext:
    """The item a fix is for and the agreement it writes to, with that agreement's additions."""

    item_id: str
    options: ReconciliationOptions
    agreement: Agreement
    baseline: tuple[Addition, ...]

    @property
    def as_of(self) -> dt.date:
        return self.options.as_of


@dataclass(frozen=True)
class _Attempt:
    """The actions of a fix at one change date, or why it cannot take effect then."""

    actions: tuple[PlannedAddition, ...]
    reason: str | None = None


_Builder = Callable[[dt.date], _Attempt]
FixResult = tuple[Fix | None, tuple[str, ...]]


def bill_fix(context: FixContext, wanted: Wanted, *, replaced: Addition | None) -> FixResult:
    """Make ``wanted`` bill from D: create it, or replace ``replaced`` with it.

    A replaced addition is cancelled on D − 1 and a new one created on D; one that only starts
    on D never billed and is updated in place. In the current period, a prorate line charges
    the change in quantity from the change date (marketplace prices only).
    """

    def build(change: dt.date) -> _Attempt:
        actions = _recurring_actions(context, wanted, replaced=replaced)
        delta = wanted.product.quantity - (replaced.quantity if replaced else Decimal(0))
        if change == context.as_of:
            return _Attempt(actions)
        reason = _prorate_reason(context, wanted, change=change, delta=delta)
        if reason is not None:
            return _Attempt(actions, reason)
        return _Attempt((*actions, _prorate(context, wanted, change=change, quantity=delta)))

    return _settle(context, build)


def end_fix(context: FixContext, additions: Sequence[Addition], *, mpn: str) -> FixResult:
    """Stop ``additions`` billing from the change date: cancelled the day before, or deleted
    when they have not started by then (they never billed)."""

    def build(change: dt.date) -> _Attempt:
        return _Attempt(tuple(_end(context, a, mpn=mpn, change=change) for a in additions))

    return _settle(context, build)


def restore_fix(context: FixContext, shown: Addition, written: PlannedAddition, *, mpn: str) -> Fix:
    """An update that puts back what psasync wrote on a hand-edited addition.

    It restores the unit cost, billCustomer, taxable flag and invoice description; the
    quantity and unit price stay as shown (the marketplace comparison owns them) and so does
    the cancelled date, so the update never touches an invoiced span.
    """
    action = _draft(
        Action.UPDATE,
        shown,
        mpn=mpn,
        description=written.description,
        quantity=shown.quantity,
        price=shown.unit_price,
        cost=written.unit_cost,
        cancelled=shown.cancelled_date,
        source=context.options.price_source,
        origin=PriceOrigin.EXISTING_ADDITION,
        fallback_effective=context.as_of,
    )
    action = replace(action, bill_customer=written.bill_customer, taxable=written.taxable)
    return Fix(
        agreement_id=context.agreement.id,
        effective_date=context.as_of,
        actions=_numbered(context.item_id, (action,)),
    )


# --- timing and invoiced spans -----------------------------------------------------------------


def _settle(context: FixContext, build: _Builder) -> FixResult:
    """The fix at the requested timing, else from D with the reason, else none with the reason."""
    notes: tuple[str, ...] = ()
    change = context.options.fix_date
    if change != context.as_of:
        attempt = build(change)
        reason = attempt.reason or _invoiced_reason(context, attempt.actions)
        if reason is None:
            return _fix(context, change, attempt.actions), ()
        notes = (
            f"Takes effect on {context.as_of.isoformat()}, not {change.isoformat()}: {reason}",
        )
    actions = build(context.as_of).actions
    reason = _invoiced_reason(context, actions)
    if reason is not None:
        return None, (*notes, f"No fix: {reason}")
    return _fix(context, context.as_of, actions), notes


def _fix(context: FixContext, effective: dt.date, actions: Sequence[PlannedAddition]) -> Fix:
    return Fix(
        agreement_id=context.agreement.id,
        effective_date=effective,
        actions=_numbered(context.item_id, actions),
    )


def _invoiced_reason(context: FixContext, actions: Sequence[PlannedAddition]) -> str | None:
    """Why the actions would change an invoiced span (the plan's own rule), or None."""
    agreement = context.agreement
    plan = Plan(
        task_id=0,
        agreement_id=agreement.id,
        currency=agreement.currency,
        period=BillingPeriod(context.as_of - ONE_DAY, context.as_of),
        bill_start_date=agreement.bill_start_date,
        actions=_numbered(context.item_id, actions),
        notices=(),
        baseline=context.baseline,
        invoiced_through=agreement.invoiced_through,
    )
    notices = invoiced_notices(plan)
    return notices[0].message if notices else None


def _prorate_reason(
    context: FixContext, wanted: Wanted, *, change: dt.date, delta: Decimal
) -> str | None:
    """Why the current period cannot be charged from ``change``, or None."""
    if delta == 0:
        return "the quantity is right, and a price is corrected from the next period start."
    if context.options.price_source is PriceSource.CONNECTWISE:
        return f"{context.options.psa.vendor} prices are not prorated."
    if wanted.months != months_in_period(wanted.subscription.billing_period):
        return "the agreement's billing cycle differs from the subscription's billing period."
    period = current_period(wanted.subscription, as_of=context.as_of)
    if not period.contains(change):
        return f"{change.isoformat()} is outside the current period {period.span}."
    start = context.agreement.bill_start_date
    if start is not None and change < start:
        return f"the agreement starts billing on {start.isoformat()}."
    return None


def current_period(subscription: MarketplaceSubscription, *, as_of: dt.date) -> BillingPeriod:
    """The subscription's period that ends on D: one billing length back from D."""
    return BillingPeriod(subscription.billing_period.after(as_of, -1), as_of)


# --- actions -----------------------------------------------------------------------------------


def _recurring_actions(
    context: FixContext, wanted: Wanted, *, replaced: Addition | None
) -> tuple[PlannedAddition, ...]:
    if replaced is None:
        return (_create_recurring(context, wanted, taxable=wanted.item.taxable),)
    if replaced.effective_date is not None and replaced.effective_date >= context.as_of:
        return (_update(context, wanted, replaced),)
    cancel = _draft(
        Action.CANCEL,
        replaced,
        mpn=wanted.product.mpn,
        description=replaced.invoice_description or replaced.description,
        quantity=replaced.quantity,
        price=replaced.unit_price,
        cost=replaced.unit_cost,
        cancelled=context.as_of - ONE_DAY,
        source=context.options.price_source,
        origin=PriceOrigin.EXISTING_ADDITION,
        fallback_effective=context.as_of,
    )
    return cancel, _create_recurring(context, wanted, taxable=replaced.taxable)


def _update(context: FixContext, wanted: Wanted, replaced: Addition) -> PlannedAddition:
    return _draft(
        Action.UPDATE,
        replaced,
        mpn=wanted.product.mpn,
        description=replaced.invoice_description or wanted.description,
        quantity=wanted.product.quantity,
        price=wanted.price,
        cost=wanted.cost,
        cancelled=replaced.cancelled_date,
        source=context.options.price_source,
        origin=wanted.origin,
        fallback_effective=context.as_of,
    )


def _create_recurring(context: FixContext, wanted: Wanted, *, taxable: bool) -> PlannedAddition:
    return PlannedAddition(
        action=Action.CREATE,
        kind=AdditionKind.RECURRING,
        key="",
        line=0,
        product=wanted.item.ref,
        mpn=wanted.product.mpn,
        description=wanted.description,
        quantity=wanted.product.quantity,
        unit_price=wanted.price,
        unit_cost=wanted.cost,
        effective_date=context.as_of,
        cancelled_date=None,
        bill_customer=BillCustomer.BILLABLE,
        taxable=taxable,
        price_source=context.options.price_source,
        price_origin=wanted.origin,
    )


def _prorate(
    context: FixContext, wanted: Wanted, *, change: dt.date, quantity: Decimal
) -> PlannedAddition:
    """The one-time charge (or credit) of ``quantity`` from ``change`` to the period's end."""
    period = current_period(wanted.subscription, as_of=context.as_of)
    decimals = context.agreement.currency.decimals
    price, cost = (
        prorated_unit_amount(amount, period=period, effective_date=change, decimals=decimals)
        for amount in (wanted.price, wanted.cost)
    )
    label = "credit" if quantity < 0 else "prorated"
    return replace(
        _create_recurring(context, wanted, taxable=wanted.item.taxable),
        kind=AdditionKind.PRORATE,
        description=f"{wanted.description} ({label} {change.isoformat()} to "
        f"{period.last_day.isoformat()})",
        quantity=quantity,
        unit_price=price,
        unit_cost=cost,
        effective_date=change,
        cancelled_date=period.last_day,
    )


def _end(context: FixContext, addition: Addition, *, mpn: str, change: dt.date) -> PlannedAddition:
    started = addition.effective_date is None or addition.effective_date < change
    return _draft(
        Action.CANCEL if started else Action.DELETE,
        addition,
        mpn=mpn,
        description=addition.invoice_description or addition.description,
        quantity=addition.quantity,
        price=addition.unit_price,
        cost=addition.unit_cost,
        cancelled=change - ONE_DAY if started else addition.cancelled_date,
        source=context.options.price_source,
        origin=PriceOrigin.EXISTING_ADDITION,
        fallback_effective=change,
    )


def _draft(
    action: Action,
    target: Addition,
    *,
    mpn: str,
    description: str,
    quantity: Decimal,
    price: Decimal,
    cost: Decimal,
    cancelled: dt.date | None,
    source: PriceSource,
    origin: PriceOrigin,
    fallback_effective: dt.date,
) -> PlannedAddition:
    """An action on an existing addition; its key and line are set by ``_numbered``."""
    return PlannedAddition(
        action=action,
        kind=AdditionKind.RECURRING,
        key="",
        line=0,
        product=target.product,
        mpn=mpn,
        description=description,
        quantity=quantity,
        unit_price=price,
        unit_cost=cost,
        effective_date=target.effective_date or fallback_effective,
        cancelled_date=cancelled,
        bill_customer=target.bill_customer,
        taxable=target.taxable,
        price_source=source,
        addition_id=target.id,
        price_origin=origin,
    )


def _numbered(item_id: str, actions: Sequence[PlannedAddition]) -> tuple[PlannedAddition, ...]:
    return tuple(
        replace(
            action,
            line=number,
            key=fix_key(item_id, line=number, action=action.action, kind=action.kind),
        )
        for number, action in enumerate(actions, start=1)
    )
