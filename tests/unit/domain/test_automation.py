"""The auto-sync policy of DESIGN §8: a task syncs without review only when its order type is in
the policy, exactly one agreement is eligible (a Change Order: the one carrying the product),
the plan has no warnings, credits are allowed or absent, and its total is within the limit."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from psasync.domain.agreements import BillCustomer
from psasync.domain.automation import (
    AUTO_SYNC_OFF,
    NO_AGREEMENT_CARRIES,
    NO_ELIGIBLE_AGREEMENT,
    AgreementOption,
    AutoSyncPolicy,
    PlanFacts,
    SyncTo,
    Wait,
    choose_agreement,
    decide,
    format_amount,
)
from psasync.domain.orders import LineType, OrderType
from psasync.domain.plan import AdditionKind, PriceSource
from tests.unit.domain.builders import E3, addition, line, order, plan_for, setup_item, subscription
from tests.unit.domain.test_autotask_planning import cancellation

EVERYTHING = frozenset(OrderType)
POLICY = AutoSyncPolicy(order_types=EVERYTHING, max_amount=Decimal("500.00"))
ONE = (AgreementOption(501, "Green Lane Managed 365"),)
CLEAN = PlanFacts(warnings=(), credit=Decimal("0.00"), total=Decimal("100.00"), currency="USD")


def test_a_clean_task_syncs_to_its_one_eligible_agreement() -> None:
    assert decide(POLICY, order_type=OrderType.SALES, eligible=ONE, plan=CLEAN) == SyncTo(501)


def test_auto_sync_is_off_by_default() -> None:
    policy = AutoSyncPolicy()
    assert not policy.enabled and policy.price_source is PriceSource.MARKETPLACE
    assert decide(policy, order_type=OrderType.SALES, eligible=ONE, plan=CLEAN) == Wait(
        AUTO_SYNC_OFF
    )


def test_an_order_type_outside_the_policy_waits() -> None:
    policy = AutoSyncPolicy(order_types=frozenset({OrderType.SALES, OrderType.CHANGE}))
    decision = decide(policy, order_type=OrderType.BILLING, eligible=ONE, plan=CLEAN)
    assert decision == Wait("Billing Orders are not in the auto-sync policy")


def test_no_eligible_agreement_waits() -> None:
    decision = choose_agreement(POLICY, order_type=OrderType.SALES, eligible=())
    assert decision == Wait(NO_ELIGIBLE_AGREEMENT) == Wait("no eligible agreement")


def test_two_eligible_agreements_wait() -> None:
    two = (*ONE, AgreementOption(502, "Green Lane Backup"))
    assert choose_agreement(POLICY, order_type=OrderType.SALES, eligible=two) == Wait(
        "2 agreements eligible"
    )


def test_a_change_order_goes_to_the_agreement_already_carrying_the_product() -> None:
    options = (
        AgreementOption(501, "Green Lane Managed 365", carries_product=False),
        AgreementOption(502, "Green Lane Licences", carries_product=True),
    )
    assert choose_agreement(POLICY, order_type=OrderType.CHANGE, eligible=options) == SyncTo(502)


def test_a_change_order_waits_when_no_eligible_agreement_carries_the_product() -> None:
    assert choose_agreement(POLICY, order_type=OrderType.CHANGE, eligible=ONE) == Wait(
        NO_AGREEMENT_CARRIES
    )


def test_a_change_order_waits_when_several_agreements_carry_the_product() -> None:
    options = (
        AgreementOption(501, "A", carries_product=True),
        AgreementOption(502, "B", carries_product=True),
        AgreementOption(503, "C", carries_product=False),
    )
    assert choose_agreement(POLICY, order_type=OrderType.CHANGE, eligible=options) == Wait(
        "2 agreements eligible"
    )


@pytest.mark.parametrize(
    ("warnings", "reason"),
    [
        (("QuantityMismatch",), "plan has a QuantityMismatch warning"),
        (("AgreementProrates",), "plan has an AgreementProrates warning"),
        (
            ("QuantityMismatch", "CostFromCatalog"),
            "plan has 2 warnings: QuantityMismatch, CostFromCatalog",
        ),
    ],
)
def test_a_plan_with_warnings_waits(warnings: tuple[str, ...], reason: str) -> None:
    facts = dataclasses.replace(CLEAN, warnings=warnings)
    assert decide(POLICY, order_type=OrderType.SALES, eligible=ONE, plan=facts) == Wait(reason)


def test_a_credit_waits_unless_credits_are_allowed() -> None:
    facts = dataclasses.replace(CLEAN, credit=Decimal("-33.00"), total=Decimal("-33.00"))
    assert decide(POLICY, order_type=OrderType.CHANGE, eligible=carrying(), plan=facts) == Wait(
        "credit of −$33.00 needs review"
    )
    allowed = dataclasses.replace(POLICY, allow_credits=True)
    assert decide(allowed, order_type=OrderType.CHANGE, eligible=carrying(), plan=facts) == (
        SyncTo(501)
    )


def test_a_total_above_the_limit_waits() -> None:
    facts = dataclasses.replace(CLEAN, total=Decimal("1250.00"))
    assert decide(POLICY, order_type=OrderType.SALES, eligible=ONE, plan=facts) == Wait(
        "total $1,250.00 above the $500.00 limit"
    )
    at_limit = dataclasses.replace(CLEAN, total=Decimal("500.00"))
    assert decide(POLICY, order_type=OrderType.SALES, eligible=ONE, plan=at_limit) == SyncTo(501)


def test_without_a_limit_any_total_syncs() -> None:
    unlimited = dataclasses.replace(POLICY, max_amount=None)
    facts = dataclasses.replace(CLEAN, total=Decimal("99999.00"))
    assert decide(unlimited, order_type=OrderType.SALES, eligible=ONE, plan=facts) == SyncTo(501)


def test_the_first_reason_in_the_designs_order_is_given() -> None:
    facts = PlanFacts(
        warnings=("QuantityMismatch",),
        credit=Decimal("-5.00"),
        total=Decimal("9000.00"),
        currency="USD",
    )
    assert decide(POLICY, order_type=OrderType.SALES, eligible=(), plan=facts) == Wait(
        NO_ELIGIBLE_AGREEMENT
    )
    assert decide(POLICY, order_type=OrderType.SALES, eligible=ONE, plan=facts) == Wait(
        "plan has a QuantityMismatch warning"
    )
    no_warning = dataclasses.replace(facts, warnings=())
    assert decide(POLICY, order_type=OrderType.SALES, eligible=ONE, plan=no_warning) == Wait(
        "credit of −$5.00 needs review"
    )


@pytest.mark.parametrize(
    ("amount", "currency", "decimals", "text"),
    [
        ("1250", "USD", 2, "$1,250.00"),
        ("-33", "USD", 2, "−$33.00"),
        ("0.5", "EUR", 2, "€0.50"),
        ("1234567.891", "CHF", 2, "1,234,567.89 CHF"),
        ("-1500", "JPY", 0, "−¥1,500"),
    ],
)
def test_amounts_read_as_money(amount: str, currency: str, decimals: int, text: str) -> None:
    assert format_amount(Decimal(amount), currency, decimals) == text


def carrying() -> tuple[AgreementOption, ...]:
    return (AgreementOption(501, "Green Lane Managed 365", carries_product=True),)


# The facts of a real plan --------------------------------------------------------------------


def test_a_sales_orders_total_is_its_prorate_and_its_setup_fee() -> None:
    placed = order(
        OrderType.SALES,
        lines=(line(quantity="5"), line(2, type=LineType.SETUP, quantity="1", price="50.00")),
    )
    plan = plan_for(placed, held=subscription((E3, "5")), setup_items={E3: setup_item()})
    facts = PlanFacts.of(plan)
    # 5 × 30.00 for 20 of 30 days = 100.00, and the 50.00 setup fee.
    assert (facts.credit, facts.total, facts.currency, facts.decimals) == (
        Decimal("0.00"),
        Decimal("150.00"),
        "USD",
        2,
    )


def test_a_downgrade_is_a_credit() -> None:
    placed = order(OrderType.CHANGE, lines=(line(quantity="-3"),))
    plan = plan_for(placed, [addition(quantity="5")], held=subscription((E3, "2")))
    facts = PlanFacts.of(plan)
    # −3 × 30.00 for 20 of 30 days.
    assert facts.credit == Decimal("-60.00") and facts.total == Decimal("-60.00")
    assert facts.warnings == ()


def test_a_plans_notices_are_its_warnings_once_each() -> None:
    placed = order(OrderType.CHANGE, lines=(line(quantity="2"),))
    # The agreement has 4, the subscription says 7 after +2: a quantity mismatch.
    plan = plan_for(placed, [addition(quantity="4")], held=subscription((E3, "7")))
    assert "QuantityMismatch" in PlanFacts.of(plan).warnings
    assert len(set(PlanFacts.of(plan).warnings)) == len(PlanFacts.of(plan).warnings)


def test_lines_not_billed_do_not_count() -> None:
    placed = order(OrderType.SALES, lines=(line(quantity="5"),))
    plan = plan_for(placed, held=subscription((E3, "5")))
    unbilled = plan.with_actions(
        dataclasses.replace(action, bill_customer=BillCustomer.DO_NOT_BILL)
        for action in plan.actions
    )
    assert PlanFacts.of(unbilled).total == Decimal("0.00")


def test_lines_left_out_do_not_count() -> None:
    placed = order(OrderType.CHANGE, lines=(line(quantity="-3"),))
    plan = plan_for(placed, [addition(quantity="5")], held=subscription((E3, "2")))
    skipped = plan.with_actions(dataclasses.replace(a, skip=True) for a in plan.actions)
    assert PlanFacts.of(skipped).credit == Decimal("0.00")


def test_a_cancellation_autotask_credits_by_itself_is_a_credit() -> None:
    # No prorate line on Autotask: the credit is what it will prorate, −5 × 30.00 × 20/30.
    plan = cancellation()
    assert not [a for a in plan.actions if a.kind is AdditionKind.PRORATE]
    facts = PlanFacts.of(plan)
    assert facts.credit == Decimal("-100.00") and facts.total == Decimal("-100.00")
    assert isinstance(
        decide(POLICY, order_type=OrderType.CANCELLATION, eligible=ONE, plan=facts), Wait
    )
