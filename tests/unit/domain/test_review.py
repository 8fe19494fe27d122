import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psasync.domain.agreements import BillCustomer
from psasync.domain.orders import LineType, OrderType
from psasync.domain.plan import Action, ChangeStrategy, Plan, PlannedAddition, PlanOptions
from psasync.domain.review import (
    INVOICE_DESCRIPTION_MAX,
    FieldError,
    ReviewedAddition,
    editable_fields,
    review_plan,
    validate_plan,
)
from tests.unit.domain.builders import (
    E3,
    addition,
    agreement,
    d,
    line,
    order,
    plan_for,
    subscription,
)


def sales_plan(*, bill_start: str | None = "2026-01-01") -> Plan:
    setup = line(2, type=LineType.SETUP, quantity="1", price="50.00")
    return plan_for(
        order(lines=(line(quantity="5"), setup)), target=agreement(bill_start=bill_start)
    )


def change_plan(options: PlanOptions | None = None) -> Plan:
    return plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [addition(id=3001, quantity="5")],
        held=subscription((E3, "7")),
        options=options,
    )


def reviewed(action: PlannedAddition, **changes: object) -> ReviewedAddition:
    values = ReviewedAddition(
        key=action.key,
        description=action.description,
        quantity=action.quantity,
        unit_price=action.unit_price,
        unit_cost=action.unit_cost,
        effective_date=action.effective_date,
        cancelled_date=action.cancelled_date,
        bill_customer=action.bill_customer,
        taxable=action.taxable,
    )
    return replace(values, **changes)  # type: ignore[arg-type]


def errors_of(plan: Plan, *edits: ReviewedAddition) -> list[tuple[str | None, str, str]]:
    return [(e.key, e.field, e.code) for e in review_plan(plan, edits).errors]


def test_planned_actions_are_valid_as_they_stand() -> None:
    assert validate_plan(sales_plan()) == ()
    assert validate_plan(change_plan()) == ()
    outcome = review_plan(sales_plan(), [])
    assert outcome.ok and outcome.plan == sales_plan()


def test_edits_replace_the_planned_values_and_the_amounts_follow() -> None:
    plan = sales_plan()
    recurring, prorate, setup = plan.actions
    outcome = review_plan(
        plan,
        [
            reviewed(prorate, quantity=Decimal(4), unit_price=Decimal("19.50")),
            reviewed(
                recurring,
                description="E3 seats",
                taxable=False,
                bill_customer=BillCustomer.DO_NOT_BILL,
            ),
        ],
    )
    assert outcome.ok
    edited = {a.key: a for a in outcome.plan.actions}
    assert edited[prorate.key].quantity == 4 and edited[prorate.key].unit_price == Decimal("19.50")
    assert edited[recurring.key].description == "E3 seats"
    assert not edited[recurring.key].taxable
    assert edited[setup.key] == setup
    assert outcome.plan.prorated_amount == Decimal("78.00")
    # A recurring addition that is not billed adds nothing to the recurring amount.
    assert outcome.plan.recurring_amount_after == Decimal("0.00")


def test_a_rejected_review_leaves_the_plan_as_planned() -> None:
    plan = sales_plan()
    outcome = review_plan(plan, [reviewed(plan.actions[0], quantity=Decimal(0))])
    assert not outcome.ok
    assert outcome.plan == plan


def test_unknown_and_repeated_keys_are_errors() -> None:
    plan = sales_plan()
    ghost = replace(reviewed(plan.actions[0]), key="task:7:line9:recurring")
    assert errors_of(plan, ghost) == [("task:7:line9:recurring", "key", "Unknown")]
    twice = reviewed(plan.actions[0])
    assert errors_of(plan, twice, twice) == [(twice.key, "key", "Duplicate")]


def test_a_cancel_may_only_move_its_date() -> None:
    plan = change_plan()
    cancel = plan.actions[0]
    assert errors_of(plan, reviewed(cancel, cancelled_date=d("2026-11-29"))) == []
    assert errors_of(plan, reviewed(cancel, quantity=Decimal(9), description="x")) == [
        (cancel.key, "description", "ReadOnly"),
        (cancel.key, "quantity", "ReadOnly"),
    ]


def test_a_cancel_keeps_a_date_no_earlier_than_the_day_before_the_period() -> None:
    plan = change_plan()
    cancel = plan.actions[0]
    assert errors_of(plan, reviewed(cancel, cancelled_date=d("2026-10-31"))) == []
    assert errors_of(plan, reviewed(cancel, cancelled_date=d("2026-10-30"))) == [
        (cancel.key, "cancelledDate", "OutOfRange")
    ]
    assert errors_of(plan, reviewed(cancel, cancelled_date=None)) == [
        (cancel.key, "cancelledDate", "Required")
    ]


def test_a_cancel_cannot_end_before_the_addition_starts() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [addition(id=3001, quantity="5", effective="2026-11-05")],
        held=subscription((E3, "7")),
    )
    cancel = plan.actions[0]
    errors = review_plan(plan, [reviewed(cancel, cancelled_date=d("2026-11-04"))]).errors
    assert [(e.field, e.code) for e in errors] == [("cancelledDate", "OutOfRange")]
    assert "before the effective date 2026-11-05" in errors[0].message


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"description": "   "}, "description", "Required"),
        ({"description": "x" * (INVOICE_DESCRIPTION_MAX + 1)}, "description", "MaxLengthField"),
        ({"quantity": Decimal(0)}, "quantity", "OutOfRange"),
        ({"quantity": Decimal(-1)}, "quantity", "OutOfRange"),
        ({"quantity": Decimal("NaN")}, "quantity", "OutOfRange"),
        ({"quantity": Decimal("1e10")}, "quantity", "OutOfRange"),
        ({"unit_price": Decimal("-0.01")}, "unitPrice", "OutOfRange"),
        ({"unit_price": Decimal("Infinity")}, "unitPrice", "OutOfRange"),
        ({"unit_cost": Decimal("2e9")}, "unitCost", "OutOfRange"),
        ({"effective_date": d("2026-10-31")}, "effectiveDate", "OutOfRange"),
        ({"cancelled_date": d("2027-03-31")}, None, None),
        (
            {"cancelled_date": d("2026-11-30"), "effective_date": d("2026-12-01")},
            "cancelledDate",
            "OutOfRange",
        ),
    ],
)
def test_recurring_edits_are_checked(
    changes: dict[str, object], field: str | None, code: str | None
) -> None:
    plan = sales_plan()
    recurring = plan.actions[0]
    expected = [(recurring.key, field, code)] if field else []
    assert errors_of(plan, reviewed(recurring, **changes)) == expected


def test_the_description_limit_is_inclusive() -> None:
    plan = sales_plan()
    text = "x" * INVOICE_DESCRIPTION_MAX
    assert errors_of(plan, reviewed(plan.actions[0], description=text)) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"quantity": Decimal(-2)}, []),
        # After its own end, and outside the period.
        (
            {"effective_date": d("2026-12-01")},
            [("cancelledDate", "OutOfRange"), ("effectiveDate", "OutOfRange")],
        ),
        ({"cancelled_date": d("2026-12-01")}, [("cancelledDate", "OutOfRange")]),
        ({"cancelled_date": None}, [("cancelledDate", "OutOfRange")]),
        (
            {"effective_date": d("2026-10-30"), "cancelled_date": d("2026-10-31")},
            [("effectiveDate", "OutOfRange"), ("cancelledDate", "OutOfRange")],
        ),
    ],
)
def test_prorate_edits_stay_within_the_period(
    changes: dict[str, object], expected: list[tuple[str, str]]
) -> None:
    plan = sales_plan()
    prorate = plan.actions[1]
    assert errors_of(plan, reviewed(prorate, **changes)) == [(prorate.key, *e) for e in expected]


def test_a_one_time_fee_cannot_be_negative() -> None:
    plan = sales_plan()
    setup = plan.actions[2]
    assert errors_of(plan, reviewed(setup, quantity=Decimal(-1))) == [
        (setup.key, "quantity", "OutOfRange")
    ]


def test_nothing_may_take_effect_before_the_agreement_bills() -> None:
    plan = sales_plan(bill_start="2026-11-15")
    prorate = plan.actions[1]
    assert validate_plan(plan) == (
        FieldError(
            key=prorate.key,
            field="effectiveDate",
            code="OutOfRange",
            message="effectiveDate cannot be less than the agreement billing start date "
            "2026-11-15.",
        ),
        FieldError(
            key=plan.actions[2].key,
            field="effectiveDate",
            code="OutOfRange",
            message="effectiveDate cannot be less than the agreement billing start date "
            "2026-11-15.",
        ),
    )


def test_an_update_keeps_its_start_but_may_change_its_quantity() -> None:
    plan = change_plan(PlanOptions(change_strategy=ChangeStrategy.UPDATE_IN_PLACE))
    update = plan.actions[0]
    assert errors_of(plan, reviewed(update, quantity=Decimal(8))) == []
    assert errors_of(plan, reviewed(update, effective_date=dt.date(2026, 2, 1))) == [
        (update.key, "effectiveDate", "ReadOnly")
    ]


# --- whatever is sent, review answers with field errors, never an exception ---------------------

odd_decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("sNaN"), Decimal("-0"), Decimal("1E+999999")]),
)
odd_dates = st.dates()
bill_customers = st.sampled_from(list(BillCustomer))


@st.composite
def hostile_reviews(draw: st.DrawFn) -> list[ReviewedAddition]:
    keys = [a.key for a in change_plan().actions] + ["task:7:line9:prorate", ""]
    return [
        ReviewedAddition(
            key=draw(st.sampled_from(keys)),
            description=draw(st.text(max_size=30) | st.just("x" * 6001)),
            quantity=draw(odd_decimals),
            unit_price=draw(odd_decimals),
            unit_cost=draw(odd_decimals),
            effective_date=draw(odd_dates),
            cancelled_date=draw(st.none() | odd_dates),
            bill_customer=draw(bill_customers),
            taxable=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]


@given(edits=hostile_reviews())
def test_review_never_raises(edits: list[ReviewedAddition]) -> None:
    plan = change_plan()
    outcome = review_plan(plan, edits)
    if outcome.ok:
        # An accepted review has amounts that can be computed.
        assert outcome.plan.recurring_amount_after.is_finite()
        assert outcome.plan.prorated_amount.is_finite()
    else:
        assert outcome.plan == plan
        assert all(error.message for error in outcome.errors)


def test_editable_fields_name_what_each_action_may_change() -> None:
    assert "effectiveDate" in editable_fields(Action.CREATE)
    assert editable_fields(Action.CANCEL) == {"cancelledDate"}
    assert "effectiveDate" not in editable_fields(Action.UPDATE)
    assert "quantity" in editable_fields(Action.UPDATE)


# --- issue 13: date bounds, absurd numbers, deletes, edited prices -----------------------------


@pytest.mark.parametrize(
    ("effective", "ok"),
    [
        ("2026-10-31", False),
        ("2026-11-01", True),
        ("2026-12-01", True),  # the next period's start
        ("2026-12-02", False),
        ("9999-12-31", False),
    ],
)
def test_a_recurring_create_starts_between_the_period_start_and_the_next(
    effective: str, ok: bool
) -> None:
    plan = sales_plan()
    recurring = plan.actions[0]
    errors = errors_of(plan, reviewed(recurring, effective_date=d(effective)))
    assert errors == ([] if ok else [(recurring.key, "effectiveDate", "OutOfRange")])


@pytest.mark.parametrize(
    ("cancelled", "ok"),
    [
        ("2026-10-30", False),
        ("2026-10-31", True),
        ("2026-11-30", True),
        ("2026-12-01", False),
        ("9999-12-31", False),
    ],
)
def test_a_cancel_date_lies_between_the_day_before_the_period_and_its_last_day(
    cancelled: str, ok: bool
) -> None:
    plan = change_plan()
    cancel = plan.actions[0]
    errors = review_plan(plan, [reviewed(cancel, cancelled_date=d(cancelled))]).errors
    assert [(e.field, e.code) for e in errors] == ([] if ok else [("cancelledDate", "OutOfRange")])
    if not ok:
        assert "2026-10-31 and 2026-11-30" in errors[0].message


@pytest.mark.parametrize(
    "value",
    [
        Decimal("1E+999999999"),
        Decimal("-1E+999999999"),
        Decimal("1E-999999999"),
        Decimal("0.0000000000001"),
        Decimal("1.00000000000000000000000000000000001"),
        Decimal("sNaN"),
        Decimal("-Infinity"),
    ],
)
@pytest.mark.parametrize("field", ["quantity", "unit_price", "unit_cost"])
def test_absurd_numbers_are_field_errors_not_crashes(value: Decimal, field: str) -> None:
    plan = sales_plan()
    prorate = plan.actions[1]
    outcome = review_plan(plan, [reviewed(prorate, **{field: value})])
    api_name = {"quantity": "quantity", "unit_price": "unitPrice", "unit_cost": "unitCost"}
    assert [(e.field, e.code) for e in outcome.errors] == [(api_name[field], "OutOfRange")]


def test_twelve_decimals_are_accepted() -> None:
    plan = sales_plan()
    price = Decimal("19.123456789012")
    assert errors_of(plan, reviewed(plan.actions[1], unit_price=price)) == []


def cancellation_with_a_future_addition() -> Plan:
    return plan_for(
        order(OrderType.CANCELLATION, on="2026-11-20", lines=(line(type=LineType.CANCELLATION),)),
        [addition(id=3002, quantity="7", effective="2026-12-01")],
    )


def test_a_delete_has_nothing_to_edit() -> None:
    plan = cancellation_with_a_future_addition()
    (delete,) = plan.actions
    assert delete.action is Action.DELETE
    assert editable_fields(Action.DELETE) == frozenset()
    assert validate_plan(plan) == ()
    assert errors_of(plan, reviewed(delete)) == []
    edit = reviewed(delete, quantity=Decimal(1), cancelled_date=d("2026-11-30"))
    assert errors_of(plan, edit) == [
        (delete.key, "quantity", "ReadOnly"),
        (delete.key, "cancelledDate", "ReadOnly"),
    ]


def test_a_changed_price_or_cost_makes_the_line_edited() -> None:
    plan = sales_plan()
    recurring, prorate, setup = plan.actions
    outcome = review_plan(
        plan,
        [
            reviewed(recurring, unit_price=Decimal("31.00")),
            reviewed(prorate, unit_cost=Decimal("15.00")),
            reviewed(setup, quantity=Decimal(2), unit_price=Decimal("50.000")),
        ],
    )
    assert outcome.ok
    assert [a.price_origin.value for a in outcome.plan.actions] == [
        "edited",
        "edited",
        "marketplace",  # 50.000 is the planned 50.00
    ]


def test_a_skipped_action_stays_in_the_plan_but_is_neither_written_nor_billed() -> None:
    plan = change_plan()
    prorate = next(a for a in plan.actions if a.kind.value == "prorate")
    outcome = review_plan(plan, [reviewed(prorate, skip=True)])
    assert outcome.ok
    skipped = next(a for a in outcome.plan.actions if a.key == prorate.key)
    assert skipped.skip and skipped not in outcome.plan.written_actions
    assert plan.prorated_amount != 0 and outcome.plan.prorated_amount == 0
    assert outcome.plan.recurring_amount_after == plan.recurring_amount_after


def test_skipping_the_cancel_shows_the_old_line_still_billing() -> None:
    plan = change_plan()
    cancel = next(a for a in plan.actions if a.action is Action.CANCEL)
    outcome = review_plan(plan, [reviewed(cancel, skip=True)])
    assert outcome.plan.recurring_amount_after > plan.recurring_amount_after


def test_what_a_skipped_line_would_have_held_is_not_checked() -> None:
    plan = change_plan()
    cancel = next(a for a in plan.actions if a.action is Action.CANCEL)
    impossible = reviewed(cancel, quantity=Decimal(99), cancelled_date=dt.date(1999, 1, 1))
    assert errors_of(plan, impossible)  # written, it would be refused…
    assert errors_of(plan, replace(impossible, skip=True)) == []  # …left out, nothing to check


def test_one_time_charges_are_totalled_apart_from_the_prorated_amount() -> None:
    plan = sales_plan()
    setup = next(a for a in plan.actions if a.kind.value == "one_time")
    assert plan.one_time_amount == plan.extended_price(setup) == Decimal("50.00")
    skipped = review_plan(plan, [reviewed(setup, skip=True)]).plan
    assert skipped.one_time_amount == Decimal("0.00")
