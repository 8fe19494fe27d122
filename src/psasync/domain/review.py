"""Checking a plan the reseller has reviewed and edited, before anything is written.

Every problem becomes a ``FieldError`` naming the addition (by key) and the field in the API's
words; nothing here raises for bad input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from psasync.domain.agreements import BillCustomer
from psasync.domain.billing import ONE_DAY
from psasync.domain.plan import Action, AdditionKind, Plan, PlannedAddition, PriceOrigin, PsaStyle
from psasync.domain.plan_builder import with_period_notices

# ConnectWise's limit on an addition's invoiceDescription, the text the customer sees.
INVOICE_DESCRIPTION_MAX = 6000
# No real seat count or unit price comes near; larger values are typing accidents.
MAX_QUANTITY = Decimal(1_000_000_000)
MAX_AMOUNT = Decimal(1_000_000_000)
# Far beyond any real price's decimals, and few enough that exact arithmetic on an accepted value
# stays cheap (a value like 1E-999999999 would take an exponent-sized integer to compute with).
MAX_DECIMAL_PLACES = 12
_FINEST = Decimal(1).scaleb(-MAX_DECIMAL_PLACES)


@dataclass(frozen=True)
class FieldError:
    """One rejected value: ``key`` is the addition's key (None for the list itself)."""

    key: str | None
    field: str
    code: str
    message: str


@dataclass(frozen=True)
class ReviewedAddition:
    """The values the reseller confirmed for one planned addition, found by its key."""

    key: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal
    effective_date: dt.date
    cancelled_date: dt.date | None
    bill_customer: BillCustomer
    taxable: bool
    # Leave this action out: it is shown and journalled as skipped, never written.
    skip: bool = False


@dataclass(frozen=True)
class ReviewOutcome:
    """The plan with the reviewed values, or the errors that reject them."""

    plan: Plan
    errors: tuple[FieldError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


# Each reviewable field: its name in the API and ConnectWise → its attribute here.
_REVIEWED_FIELDS = {
    "description": "description",
    "quantity": "quantity",
    "unitPrice": "unit_price",
    "unitCost": "unit_cost",
    "effectiveDate": "effective_date",
    "cancelledDate": "cancelled_date",
    "billCustomer": "bill_customer",
    "taxableFlag": "taxable",
}


# What a reseller may change per action: a cancel only moves its date, an update keeps the
# addition's start, a new addition is theirs to shape.
_EDITABLE = {
    Action.CREATE: frozenset(_REVIEWED_FIELDS),
    Action.UPDATE: frozenset(
        {"description", "quantity", "unitPrice", "unitCost", "billCustomer", "taxableFlag"}
    ),
    Action.CANCEL: frozenset({"cancelledDate"}),
    # A delete removes an addition that never billed: there is nothing to shape, only to skip.
    Action.DELETE: frozenset(),
}


# A PSA of adjustments moves an update's units on its effective date, which the reseller may
# move within the period (to the next period's start: no proration).
_ADJUSTED_UPDATE = _EDITABLE[Action.UPDATE] | {"effectiveDate"}


def editable_fields(action: Action, *, psa: PsaStyle = PsaStyle.CONNECTWISE) -> frozenset[str]:
    """The fields (API names) a reseller may change on this kind of action."""
    if action is Action.UPDATE and psa.prorates_itself:
        return _ADJUSTED_UPDATE
    return _EDITABLE[action]


def review_plan(plan: Plan, reviewed: Sequence[ReviewedAddition]) -> ReviewOutcome:
    """Apply the reviewed values to the plan's actions and validate the result.

    Actions not listed keep their planned values; a key the plan does not have, a key listed
    twice, or a change to a field the action does not allow is an error. A changed unit price
    or cost makes the line's price origin ``edited``; the invoiced-period notices are derived
    again from the reviewed dates.
    """
    planned = {action.key: action for action in plan.actions}
    errors = list(_list_errors(reviewed, planned))
    edits = {r.key: r for r in reviewed if r.key in planned}
    for key, edit in edits.items():
        if not edit.skip:  # what a skipped line would have held is never written
            errors.extend(_read_only_errors(planned[key], edit, psa=plan.psa))
    edited = plan.with_actions(
        _edited(action, edits[action.key]) if action.key in edits else action
        for action in plan.actions
    )
    errors.extend(validate_plan(edited))
    if errors:
        return ReviewOutcome(plan=plan, errors=tuple(errors))
    return ReviewOutcome(plan=with_period_notices(edited), errors=())


def validate_plan(plan: Plan) -> tuple[FieldError, ...]:
    """Every field error in the actions the plan writes, checked against ConnectWise's rules."""
    return tuple(error for action in plan.written_actions for error in _action_errors(plan, action))


def _list_errors(
    reviewed: Sequence[ReviewedAddition], planned: dict[str, PlannedAddition]
) -> Iterator[FieldError]:
    seen: set[str] = set()
    for item in reviewed:
        if item.key not in planned:
            yield FieldError(item.key, "key", "Unknown", f"The plan has no addition {item.key}.")
        elif item.key in seen:
            yield FieldError(item.key, "key", "Duplicate", f"{item.key} is listed twice.")
        seen.add(item.key)


def _read_only_errors(
    action: PlannedAddition, edit: ReviewedAddition, *, psa: PsaStyle
) -> Iterator[FieldError]:
    editable = editable_fields(action.action, psa=psa)
    for name, attribute in _REVIEWED_FIELDS.items():
        sent, planned = getattr(edit, attribute), getattr(action, attribute)
        if name not in editable and not _same(sent, planned):
            yield FieldError(
                action.key,
                name,
                "ReadOnly",
                f"{name} cannot be changed on a {action.action.value} of an existing addition.",
            )


def _same(sent: object, planned: object) -> bool:
    """Equality that a NaN sent by a client cannot make raise (a signalling NaN would)."""
    if isinstance(sent, Decimal) and not sent.is_finite():
        return isinstance(planned, Decimal) and sent.compare_total(planned) == 0
    return sent == planned


def _edited(action: PlannedAddition, edit: ReviewedAddition) -> PlannedAddition:
    if edit.skip:
        return replace(action, skip=True)
    edited = replace(action, **{a: getattr(edit, a) for a in _REVIEWED_FIELDS.values()})
    repriced = not (
        _same(edit.unit_price, action.unit_price) and _same(edit.unit_cost, action.unit_cost)
    )
    return replace(edited, price_origin=PriceOrigin.EDITED) if repriced else edited


def _action_errors(plan: Plan, action: PlannedAddition) -> Iterator[FieldError]:
    yield from _description_errors(action)
    yield from _quantity_errors(action)
    yield from _amount_errors(action, "unitPrice", action.unit_price)
    yield from _amount_errors(action, "unitCost", action.unit_cost)
    yield from _date_errors(plan, action)


def _description_errors(action: PlannedAddition) -> Iterator[FieldError]:
    text = action.description
    # An existing addition may have no description; only a new one must bring its own.
    if action.action is Action.CREATE and not text.strip():
        yield FieldError(action.key, "description", "Required", "A description is required.")
    elif len(text) > INVOICE_DESCRIPTION_MAX:
        yield FieldError(
            action.key,
            "description",
            "MaxLengthField",
            f"The description has {len(text)} characters; ConnectWise allows "
            f"{INVOICE_DESCRIPTION_MAX}.",
        )


def _within(value: Decimal, bound: Decimal) -> bool:
    """|value| ≤ bound with at most MAX_DECIMAL_PLACES decimals, for any Decimal a client sends.

    copy_abs and comparisons are exact (abs() would round to the context and overflow), and a
    NaN never reaches a comparison (a signalling one would raise).
    """
    if not value.is_finite() or value.copy_abs() > bound:
        return False
    return value.quantize(_FINEST) == value


def _quantity_errors(action: PlannedAddition) -> Iterator[FieldError]:
    quantity = action.quantity
    if not _within(quantity, MAX_QUANTITY):
        yield FieldError(
            action.key,
            "quantity",
            "OutOfRange",
            f"The quantity must be a number up to {MAX_QUANTITY}, with at most "
            f"{MAX_DECIMAL_PLACES} decimals.",
        )
    elif action.action is Action.CREATE and quantity == 0:
        yield FieldError(action.key, "quantity", "OutOfRange", "The quantity cannot be zero.")
    elif quantity < 0 and action.kind is not AdditionKind.PRORATE:
        yield FieldError(
            action.key,
            "quantity",
            "OutOfRange",
            "Only a prorate addition (a credit) can have a negative quantity.",
        )


def _amount_errors(action: PlannedAddition, name: str, amount: Decimal) -> Iterator[FieldError]:
    if not _within(amount, MAX_AMOUNT) or amount < 0:
        yield FieldError(
            action.key,
            name,
            "OutOfRange",
            f"{name} must be between 0 and {MAX_AMOUNT}, with at most {MAX_DECIMAL_PLACES} "
            "decimals.",
        )


def _date_errors(plan: Plan, action: PlannedAddition) -> Iterator[FieldError]:
    if action.action is Action.DELETE:
        return  # nothing about the addition is written: it is removed
    effective, cancelled = action.effective_date, action.cancelled_date
    if cancelled is not None and cancelled < effective:
        yield FieldError(
            action.key,
            "cancelledDate",
            "OutOfRange",
            f"The cancelled date {cancelled.isoformat()} is before the effective date "
            f"{effective.isoformat()}.",
        )
    if action.action is Action.CANCEL:
        yield from _cancel_date_errors(plan, action)
    elif action.action is Action.CREATE:
        yield from _create_date_errors(plan, action)
    elif plan.psa.prorates_itself:
        yield from _adjustment_date_errors(plan, action)


def _create_date_errors(plan: Plan, action: PlannedAddition) -> Iterator[FieldError]:
    bill_start = plan.bill_start_date
    if bill_start is not None and action.effective_date < bill_start:
        yield FieldError(
            action.key,
            "effectiveDate",
            "OutOfRange",
            f"effectiveDate cannot be less than the agreement billing start date "
            f"{bill_start.isoformat()}.",
        )
    if action.kind is AdditionKind.RECURRING:
        yield from _recurring_start_errors(plan, action)
    else:
        yield from _within_period_errors(plan, action)


def _recurring_start_errors(plan: Plan, action: PlannedAddition) -> Iterator[FieldError]:
    # From this period's start to the next one's: later would be another task's change.
    period = plan.period
    if not period.start <= action.effective_date <= period.end:
        yield FieldError(
            action.key,
            "effectiveDate",
            "OutOfRange",
            f"A recurring addition must start between {period.start.isoformat()} and "
            f"{period.end.isoformat()} (the next period's start).",
        )


def _adjustment_date_errors(plan: Plan, action: PlannedAddition) -> Iterator[FieldError]:
    # An update a PSA of adjustments writes on its effective date: a recurring create's bounds.
    period, bill_start = plan.period, plan.bill_start_date
    if not period.start <= action.effective_date <= period.end:
        yield FieldError(
            action.key,
            "effectiveDate",
            "OutOfRange",
            f"A change of units must take effect between {period.start.isoformat()} and "
            f"{period.end.isoformat()} (the next period's start).",
        )
    elif bill_start is not None and action.effective_date < bill_start:
        yield FieldError(
            action.key,
            "effectiveDate",
            "OutOfRange",
            f"effectiveDate cannot be less than the agreement billing start date "
            f"{bill_start.isoformat()}.",
        )


def _cancel_date_errors(plan: Plan, action: PlannedAddition) -> Iterator[FieldError]:
    # Before the current period would rewrite periods already billed; after it, the addition
    # would go on billing beyond what the order ends.
    earliest, latest = plan.period.start - ONE_DAY, plan.period.last_day
    if action.cancelled_date is None:
        yield FieldError(
            action.key, "cancelledDate", "Required", "A cancellation needs a cancelled date."
        )
    elif not earliest <= action.cancelled_date <= latest:
        yield FieldError(
            action.key,
            "cancelledDate",
            "OutOfRange",
            f"The cancelled date {action.cancelled_date.isoformat()} must lie between "
            f"{earliest.isoformat()} and {latest.isoformat()}.",
        )


def _within_period_errors(plan: Plan, action: PlannedAddition) -> Iterator[FieldError]:
    period = plan.period
    if not period.contains(action.effective_date):
        yield FieldError(
            action.key,
            "effectiveDate",
            "OutOfRange",
            f"A {action.kind.value} addition must take effect within the period {period.span}.",
        )
    if action.cancelled_date is None or not period.contains(action.cancelled_date):
        yield FieldError(
            action.key,
            "cancelledDate",
            "OutOfRange",
            f"A {action.kind.value} addition must end within the period {period.span}.",
        )
