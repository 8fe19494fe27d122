"""The planner on issue 13's rules: no rounding on the period start, deleting additions that have
not started, setup fees priced from their own catalog item, and where every price came from.

Defaults as in test_planner.py: November 2026, marketplace 30.00/24.00, catalog 32.00/25.00.
"""

from decimal import Decimal

import pytest

from psasync.domain.agreements import ProductClass
from psasync.domain.orders import LineType, OrderType
from psasync.domain.plan import Action, AdditionKind, NoticeCode, PriceOrigin, PriceSource
from tests.unit.domain.builders import (
    BACKUP,
    E3,
    addition,
    catalog_item,
    d,
    line,
    order,
    plan_for,
    setup_item,
    subscription,
)
from tests.unit.domain.test_planner import amounts, notice_codes, summary

# --- the period start is not a proration ------------------------------------------------------


def test_a_change_on_the_period_start_keeps_the_marketplace_price_unrounded() -> None:
    """Issue 13: 2 × 30.005 was written as 30.01, billing 210.05 where the next period bills
    210.04."""
    plan = plan_for(
        order(OrderType.CHANGE, on="2026-11-01", lines=(line(quantity="2", price="30.005"),)),
        [addition(quantity="5", price="30.005")],
        held=subscription((E3, "7")),
    )
    assert summary(plan) == [
        "cancel task:7:line1:cancel #3001: 5 × 30.005/24.00 2026-01-01..2026-11-30",
        "create task:7:line1:recurring: 7 × 30.005/24.00 2026-12-01..",
        "create task:7:line1:prorate: 2 × 30.005/24.00 2026-11-01..2026-11-30",
    ]
    # This period: 5 × 30.005 + 2 × 30.005 = 7 × 30.005, as the next one.
    assert plan.extended_price(plan.actions[2]) == Decimal("60.01")
    assert amounts(plan) == ("60.01", "150.03", "210.04")


@pytest.mark.parametrize("order_type", [OrderType.SALES, OrderType.CHANGE, OrderType.BILLING])
def test_no_price_is_rounded_on_the_period_start(order_type: OrderType) -> None:
    line_type = LineType.OVERUSE if order_type is OrderType.BILLING else LineType.RECURRING
    lines = (
        line(type=line_type, quantity="3", price="1.23456", cost="0.98765"),
        line(2, type=LineType.SETUP, quantity="1", price="9.995", cost="4.4444"),
    )
    plan = plan_for(order(order_type, on="2026-11-01", lines=lines), held=subscription((E3, "3")))
    assert plan.actions
    for action in plan.actions:
        assert str(action.unit_price) in {"1.23456", "9.995"}
        assert str(action.unit_cost) in {"0.98765", "4.4444"}


def test_a_mid_period_change_still_rounds_its_prorate_once() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2", price="30.005"),)),
        [addition(quantity="5")],
        held=subscription((E3, "7")),
    )
    # 20/30 × 30.005 = 20.00333…
    assert str(plan.actions[2].unit_price) == "20.00"


# --- a cancellation deletes what has not started ----------------------------------------------


def test_a_cancellation_deletes_an_addition_that_only_starts_next_period() -> None:
    """Issue 13: a Change earlier in November left #3002 from 1 Dec; cancelling on 20 Nov must not
    leave it billing 210.00 from December."""
    after_a_change = [
        addition(id=3001, quantity="5", cancelled="2026-11-30"),
        addition(id=3002, quantity="7", effective="2026-12-01"),
    ]
    plan = plan_for(
        order(OrderType.CANCELLATION, on="2026-11-20", lines=(line(type=LineType.CANCELLATION),)),
        after_a_change,
    )
    assert summary(plan) == [
        "delete task:7:line1:delete #3002: 7 × 30.00/24.00 2026-12-01..",
    ]
    assert amounts(plan) == ("0.00", "210.00", "0.00")
    assert plan.actions[0].price_origin is PriceOrigin.EXISTING_ADDITION
    assert notice_codes(plan) == []


def test_a_cancellation_ends_a_started_addition_and_deletes_a_future_one() -> None:
    additions = [
        addition(id=3001, quantity="5"),
        addition(id=3002, product_id=9002, quantity="1", effective="2026-11-25"),
    ]
    backup = {E3: catalog_item(), BACKUP: catalog_item(id=9002, identifier="ACR-GB")}
    plan = plan_for(
        order(
            OrderType.CANCELLATION,
            on="2026-11-20",
            lines=(line(type=LineType.CANCELLATION), line(2, mpn=BACKUP)),
        ),
        additions,
        catalog=backup,
    )
    assert [(a.action, a.addition_id, a.cancelled_date) for a in plan.actions] == [
        (Action.CANCEL, 3001, d("2026-11-19")),
        (Action.DELETE, 3002, None),
    ]
    assert plan.actions[1].key == "task:7:line2:delete"
    assert amounts(plan) == ("0.00", "180.00", "0.00")


def test_an_addition_starting_on_the_cancellation_day_bills_that_day() -> None:
    # It has started on the day itself (effectiveDate = d, not > d): ended, never before its start.
    plan = plan_for(
        order(OrderType.CANCELLATION, on="2026-11-20", lines=(line(type=LineType.CANCELLATION),)),
        [addition(id=3001, effective="2026-11-20")],
    )
    assert [(a.action, str(a.cancelled_date)) for a in plan.actions] == [
        (Action.CANCEL, "2026-11-20")
    ]


# --- setup fees -------------------------------------------------------------------------------

ONBOARDING = line(2, type=LineType.SETUP, quantity="1", price="55.00", cost="10.00", description="")


def test_a_connectwise_setup_fee_takes_its_setup_item_price_cost_and_product() -> None:
    """Issue 13: Cedar Ridge's onboarding took the monthly item's 16.00/9.00 instead of 50/20."""
    plan = plan_for(
        order(lines=(ONBOARDING,)),
        source=PriceSource.CONNECTWISE,
        setup_items={E3: setup_item()},
    )
    (fee,) = plan.actions
    assert (fee.kind, str(fee.unit_price), str(fee.unit_cost)) == (
        AdditionKind.ONE_TIME,
        "50.00",
        "20.00",
    )
    assert (fee.product.id, fee.product.identifier) == (9101, "M365-ONBOARD")
    assert fee.description == "Microsoft 365 onboarding"
    assert not fee.taxable
    assert fee.price_origin is PriceOrigin.CATALOG
    assert notice_codes(plan) == []


def test_a_connectwise_setup_fee_without_a_setup_item_keeps_the_marketplace_price() -> None:
    plan = plan_for(order(lines=(ONBOARDING,)), source=PriceSource.CONNECTWISE)
    (fee,) = plan.actions
    assert (str(fee.unit_price), str(fee.unit_cost)) == ("55.00", "10.00")
    assert fee.price_origin is PriceOrigin.MARKETPLACE
    assert fee.price_source is PriceSource.CONNECTWISE
    assert fee.product.identifier == "M365-E3"
    assert notice_codes(plan) == [NoticeCode.SETUP_PRICE_FROM_MARKETPLACE]
    assert "55.00" in plan.notices[0].message and E3 in plan.notices[0].message
    assert not plan.blocked


def test_a_marketplace_setup_fee_bills_as_the_setup_item_at_the_marketplace_price() -> None:
    plan = plan_for(order(lines=(ONBOARDING,)), setup_items={E3: setup_item()})
    (fee,) = plan.actions
    assert (str(fee.unit_price), fee.product.identifier) == ("55.00", "M365-ONBOARD")
    assert fee.price_origin is PriceOrigin.MARKETPLACE
    no_cost = plan_for(
        order(lines=(line(2, type=LineType.SETUP, quantity="1", cost=None),)),
        setup_items={E3: setup_item(cost="19.00")},
    )
    assert str(no_cost.actions[0].unit_cost) == "19.00"
    assert notice_codes(no_cost) == [NoticeCode.COST_FROM_CATALOG]


def test_a_bundle_setup_item_blocks_its_line() -> None:
    plan = plan_for(
        order(lines=(line(), ONBOARDING)),
        setup_items={E3: setup_item(product_class=ProductClass.BUNDLE)},
    )
    assert [a.kind for a in plan.actions] == [AdditionKind.RECURRING, AdditionKind.PRORATE]
    assert notice_codes(plan) == [NoticeCode.BUNDLE_PRODUCT]
    assert plan.notices[0].line == 2
    assert plan.blocked


def test_recurring_lines_ignore_the_setup_item() -> None:
    plan = plan_for(
        order(lines=(line(),)), source=PriceSource.CONNECTWISE, setup_items={E3: setup_item()}
    )
    assert [str(a.unit_price) for a in plan.actions] == ["32.00"]


# --- price origins ----------------------------------------------------------------------------


def test_every_line_says_where_its_price_came_from() -> None:
    change = order(OrderType.CHANGE, lines=(line(quantity="2"),))
    marketplace = plan_for(change, [addition()], held=subscription((E3, "7")))
    assert [a.price_origin for a in marketplace.actions] == [
        PriceOrigin.EXISTING_ADDITION,  # the cancel keeps the addition's own price
        PriceOrigin.MARKETPLACE,
        PriceOrigin.MARKETPLACE,
    ]
    existing = plan_for(
        change, [addition()], held=subscription((E3, "7")), source=PriceSource.CONNECTWISE
    )
    assert [a.price_origin for a in existing.actions] == [
        PriceOrigin.EXISTING_ADDITION,
        PriceOrigin.EXISTING_ADDITION,
    ]
    catalog = plan_for(order(lines=(line(),)), source=PriceSource.CONNECTWISE)
    assert [a.price_origin for a in catalog.actions] == [PriceOrigin.CATALOG]


def test_zeroing_an_addition_that_has_not_started_keeps_its_price() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="-7"),)),
        [addition(id=3002, quantity="7", effective="2026-12-01", price="28.00")],
        held=subscription((E3, "0")),
    )
    assert plan.actions[0].action is Action.UPDATE
    assert (str(plan.actions[0].unit_price), plan.actions[0].price_origin) == (
        "28.00",
        PriceOrigin.EXISTING_ADDITION,
    )
