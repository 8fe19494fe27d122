"""Periods ConnectWise has already invoiced: a plan touching one is blocked before any write."""

from dataclasses import replace
from decimal import Decimal

import pytest

from psasync.domain.agreements import Addition
from psasync.domain.eligibility import ReasonCode, SubscriptionTerms, check_eligibility
from psasync.domain.invoiced import invoiced_notices
from psasync.domain.orders import LineType, OrderType
from psasync.domain.plan import Action, ChangeStrategy, NoticeCode, Plan, PlanOptions
from psasync.domain.review import review_plan
from tests.unit.domain.builders import (
    E3,
    MONTHLY,
    addition,
    agreement,
    d,
    line,
    order,
    plan_for,
    subscription,
)
from tests.unit.domain.test_review import reviewed


def invoiced(plan: Plan) -> list[tuple[int | None, str]]:
    """(line, key named) of each PeriodInvoiced notice."""
    return [
        (n.line, n.message.split(" ")[2])
        for n in plan.notices
        if n.code is NoticeCode.PERIOD_INVOICED
    ]


def sales(through: str | None, *, on: str = "2026-11-11") -> Plan:
    return plan_for(order(on=on, lines=(line(),)), target=agreement(invoiced_through=through))


def test_an_agreement_not_invoiced_into_the_period_plans_as_usual() -> None:
    assert invoiced(sales(None)) == []
    assert invoiced(sales("2026-10-31")) == []
    assert not sales("2026-11-10").blocked


def test_a_create_effective_on_or_before_the_invoiced_day_blocks_the_plan() -> None:
    plan = sales("2026-11-11")
    assert invoiced(plan) == [(1, "task:7:line1:prorate")]
    assert plan.blocked
    message = plan.notices[0].message
    assert "2026-11-11" in message and "invoiced through 2026-11-11" in message
    # Invoiced through the period: the recurring line from December is still fine.
    through_november = sales("2026-11-30")
    assert invoiced(through_november) == [(1, "task:7:line1:prorate")]
    assert invoiced(sales("2026-12-01")) == [
        (1, "task:7:line1:recurring"),
        (1, "task:7:line1:prorate"),
    ]


def cancellation(through: str, additions: list[Addition] | None = None) -> Plan:
    return plan_for(
        order(OrderType.CANCELLATION, on="2026-11-20", lines=(line(type=LineType.CANCELLATION),)),
        additions if additions is not None else [addition()],
        target=agreement(invoiced_through=through),
    )


def test_a_cancel_may_end_on_the_invoiced_day_but_not_before() -> None:
    # Cancelled 2026-11-19.
    assert invoiced(cancellation("2026-11-19")) == []
    assert invoiced(cancellation("2026-11-20")) == [(1, "task:7:line1:cancel")]
    assert cancellation("2026-11-30").blocked


def test_a_delete_of_an_addition_that_billed_in_an_invoiced_period_blocks() -> None:
    future = [addition(id=3002, effective="2026-12-01")]
    assert [a.action for a in cancellation("2026-11-30", future).actions] == [Action.DELETE]
    assert invoiced(cancellation("2026-11-30", future)) == []
    assert invoiced(cancellation("2026-12-01", future)) == [(1, "task:7:line1:delete")]


def test_an_update_blocks_only_when_it_moves_a_date_inside_the_invoiced_span() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [addition(id=3001, quantity="5")],
        held=subscription((E3, "7")),
        options=PlanOptions(change_strategy=ChangeStrategy.UPDATE_IN_PLACE),
        target=agreement(invoiced_through="2026-11-30"),
    )
    update, _prorate = plan.actions
    # A quantity change of an addition billing since January writes no date.
    assert invoiced(plan) == [(1, "task:7:line1:prorate")]
    moved = plan.with_actions([replace(update, cancelled_date=d("2026-11-15"))])
    assert invoiced(replace(moved, notices=invoiced_notices(moved))) == [(1, "task:7:line1:update")]
    on_the_day = plan.with_actions([replace(update, cancelled_date=d("2026-11-30"))])
    assert invoiced_notices(on_the_day) == ()
    # Un-ending an addition that ended inside the invoiced span also changes it.
    ended = replace(plan, baseline=(replace(plan.baseline[0], cancelled_date=d("2026-11-05")),))
    assert len(invoiced_notices(ended.with_actions([update]))) == 1


def test_a_target_the_plan_did_not_find_is_judged_by_the_action_alone() -> None:
    plan = cancellation("2026-11-25")
    orphan = replace(plan, baseline=())
    assert len(invoiced_notices(orphan)) == 1
    update = replace(plan.actions[0], action=Action.UPDATE, cancelled_date=None)
    assert invoiced_notices(orphan.with_actions([update])) == ()


def test_review_derives_the_invoiced_notices_from_the_reviewed_dates() -> None:
    plan = sales("2026-11-15", on="2026-11-01")
    (recurring,) = plan.actions
    assert invoiced(plan) == [(1, "task:7:line1:recurring")]
    moved = review_plan(plan, [reviewed(recurring, effective_date=d("2026-11-16"))])
    assert moved.ok and not moved.plan.blocked
    back = review_plan(moved.plan, [reviewed(recurring, effective_date=d("2026-11-02"))])
    assert back.ok and invoiced(back.plan) == [(1, "task:7:line1:recurring")]
    # Other notices stay as planned.
    plan = plan_for(
        order(on="2026-11-01", lines=(line(cost=None),)),
        target=agreement(invoiced_through="2026-11-15"),
    )
    outcome = review_plan(plan, [reviewed(plan.actions[0], quantity=Decimal(6))])
    assert [n.code for n in outcome.plan.notices] == [
        NoticeCode.COST_FROM_CATALOG,
        NoticeCode.PERIOD_INVOICED,
    ]


# --- eligibility -------------------------------------------------------------------------------

TERMS = SubscriptionTerms(
    company_id=250,
    billing_period=MONTHLY,
    currency="USD",
    first_effective_date=d("2026-11-11"),
    next_period_start=d("2026-12-01"),
)


@pytest.mark.parametrize(
    ("through", "eligible"),
    [(None, True), ("2026-11-11", True), ("2026-11-30", True), ("2026-12-01", False)],
)
def test_an_agreement_invoiced_over_the_whole_task_is_not_eligible(
    through: str | None, eligible: bool
) -> None:
    result = check_eligibility(agreement(invoiced_through=through), terms=TERMS)
    assert result.eligible is eligible
    if not eligible:
        assert [r.code for r in result.reasons] == [ReasonCode.PERIOD_INVOICED]
        assert "2026-12-01" in result.reasons[0].message


def test_terms_without_a_period_end_say_nothing_about_invoices() -> None:
    terms = replace(TERMS, next_period_start=None)
    assert check_eligibility(agreement(invoiced_through="2030-01-01"), terms=terms).eligible
