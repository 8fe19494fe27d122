"""The addition planner, order type by order type, with the amounts of DESIGN.md §3.

Unless a test says otherwise: November 2026 (30 days), order effective 2026-11-11 (20 of 30 days
left), marketplace price 30.00 and cost 24.00, catalog price 32.00 and cost 25.00.
"""

from decimal import Decimal

import pytest

from psasync.domain.agreements import BillCustomer, ProductClass
from psasync.domain.billing import BillingPeriod
from psasync.domain.money import Currency
from psasync.domain.orders import LineType, OrderType
from psasync.domain.plan import (
    Action,
    AdditionKind,
    ChangeStrategy,
    NoticeCode,
    Plan,
    PlannedAddition,
    PlanOptions,
    PriceSource,
)
from tests.unit.domain.builders import (
    BACKUP,
    E3,
    addition,
    agreement,
    catalog_item,
    d,
    line,
    order,
    plan_for,
    setup_item,
    subscription,
)


def summary(plan: Plan) -> list[str]:
    """Each action on one line: ``action key [#target]: quantity × price/cost from..to``."""
    return [describe(a) for a in plan.actions]


def describe(a: PlannedAddition) -> str:
    target = f" #{a.addition_id}" if a.addition_id is not None else ""
    until = a.cancelled_date.isoformat() if a.cancelled_date else ""
    return (
        f"{a.action.value} {a.key}{target}: {a.quantity} × {a.unit_price}/{a.unit_cost} "
        f"{a.effective_date.isoformat()}..{until}"
    )


def notice_codes(plan: Plan) -> list[NoticeCode]:
    return [notice.code for notice in plan.notices]


def amounts(plan: Plan) -> tuple[str, str, str]:
    return (
        str(plan.prorated_amount),
        str(plan.recurring_amount_before),
        str(plan.recurring_amount_after),
    )


# --- Sales Orders ------------------------------------------------------------------------------


def test_sales_mid_period_bills_from_next_period_plus_a_prorate() -> None:
    plan = plan_for(order(lines=(line(quantity="5"),)))
    assert summary(plan) == [
        "create task:7:line1:recurring: 5 × 30.00/24.00 2026-12-01..",
        "create task:7:line1:prorate: 5 × 20.00/16.00 2026-11-11..2026-11-30",
    ]
    assert amounts(plan) == ("100.00", "0.00", "150.00")
    assert notice_codes(plan) == []
    assert not plan.blocked


def test_sales_on_the_period_start_needs_no_prorate() -> None:
    plan = plan_for(order(on="2026-11-01", lines=(line(quantity="5"),)))
    assert summary(plan) == [
        "create task:7:line1:recurring: 5 × 30.00/24.00 2026-11-01..",
    ]
    assert amounts(plan) == ("0.00", "0.00", "150.00")


def test_sales_setup_fee_becomes_a_one_time_addition_without_proration() -> None:
    setup = line(
        2,
        type=LineType.SETUP,
        quantity="1",
        price="50.00",
        cost="10.00",
        description="Onboarding fee",
    )
    plan = plan_for(order(lines=(line(quantity="5"), setup)))
    assert (
        summary(plan)[2] == "create task:7:line2:one_time: 1 × 50.00/10.00 2026-11-11..2026-11-30"
    )
    assert plan.actions[2].description == "Onboarding fee"
    # The setup fee is neither prorated nor recurring.
    assert amounts(plan) == ("100.00", "0.00", "150.00")


def test_the_setup_fee_description_falls_back_to_the_catalog() -> None:
    setup = line(2, type=LineType.SETUP, quantity="1", price="50.00", description="  ")
    plan = plan_for(order(lines=(setup,)))
    assert plan.actions[0].description == "Microsoft 365 E3 (catalog) setup fee"


def test_sales_descriptions_tell_the_customer_what_the_prorate_covers() -> None:
    plan = plan_for(order(lines=(line(description=""),)))
    recurring, prorate = plan.actions
    assert recurring.description == "Microsoft 365 E3 licence"
    assert prorate.description == "Microsoft 365 E3 licence (prorated 2026-11-11 to 2026-11-30)"
    assert recurring.bill_customer is BillCustomer.BILLABLE and recurring.taxable
    assert recurring.product.identifier == "M365-E3" and recurring.mpn == E3


def test_sales_with_connectwise_prices_uses_the_catalog_and_does_not_prorate() -> None:
    plan = plan_for(order(lines=(line(quantity="5"),)), source=PriceSource.CONNECTWISE)
    assert summary(plan) == [
        "create task:7:line1:recurring: 5 × 32.00/25.00 2026-12-01..",
    ]
    assert notice_codes(plan) == [NoticeCode.PARTIAL_PERIOD_NOT_CHARGED]
    assert "2026-11-11 to 2026-11-30" in plan.notices[0].message
    assert amounts(plan) == ("0.00", "0.00", "160.00")
    assert plan.actions[0].price_source is PriceSource.CONNECTWISE


def test_sales_next_to_an_existing_addition_warns_and_adds_another() -> None:
    plan = plan_for(
        order(lines=(line(quantity="2"),)),
        [addition(quantity="5")],
        source=PriceSource.CONNECTWISE,
    )
    assert notice_codes(plan) == [
        NoticeCode.EXISTING_ONGOING_ADDITION,
        NoticeCode.PARTIAL_PERIOD_NOT_CHARGED,
    ]
    # ConnectWise prices: the existing addition's price wins over the catalog's.
    assert (plan.actions[0].unit_price, plan.actions[0].unit_cost) == (
        Decimal("30.00"),
        Decimal("24.00"),
    )
    assert amounts(plan) == ("0.00", "150.00", "210.00")


def test_sales_next_to_ambiguous_additions_still_uses_catalog_prices() -> None:
    plan = plan_for(
        order(lines=(line(quantity="2"),)),
        [addition(id=1), addition(id=2)],
        source=PriceSource.CONNECTWISE,
    )
    assert NoticeCode.AMBIGUOUS_ONGOING_ADDITION in notice_codes(plan)
    assert plan.blocked
    assert (plan.actions[0].unit_price, plan.actions[0].unit_cost) == (
        Decimal("32.00"),
        Decimal("25.00"),
    )


# --- Change Orders -----------------------------------------------------------------------------

ONGOING = addition(id=3001, quantity="5")


def test_upgrade_cancels_and_replaces_the_ongoing_addition_and_prorates_the_change() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [ONGOING],
        held=subscription((E3, "7")),
    )
    assert summary(plan) == [
        "cancel task:7:line1:cancel #3001: 5 × 30.00/24.00 2026-01-01..2026-11-30",
        "create task:7:line1:recurring: 7 × 30.00/24.00 2026-12-01..",
        "create task:7:line1:prorate: 2 × 20.00/16.00 2026-11-11..2026-11-30",
    ]
    assert amounts(plan) == ("40.00", "150.00", "210.00")
    assert notice_codes(plan) == []


def test_downgrade_credits_the_rest_of_the_period() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="-3"),)),
        [ONGOING],
        held=subscription((E3, "2")),
    )
    assert summary(plan)[1:] == [
        "create task:7:line1:recurring: 2 × 30.00/24.00 2026-12-01..",
        "create task:7:line1:prorate: -3 × 20.00/16.00 2026-11-11..2026-11-30",
    ]
    assert amounts(plan) == ("-60.00", "150.00", "60.00")
    assert "(credit 2026-11-11 to 2026-11-30)" in plan.actions[2].description


def test_downgrade_credit_can_be_turned_off() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="-3"),)),
        [ONGOING],
        held=subscription((E3, "2")),
        options=PlanOptions(credit_downgrades=False),
    )
    assert [a.kind for a in plan.actions] == [AdditionKind.RECURRING, AdditionKind.RECURRING]
    assert notice_codes(plan) == [NoticeCode.CREDIT_SKIPPED]
    assert amounts(plan) == ("0.00", "150.00", "60.00")


def test_update_in_place_patches_the_quantity_and_prorates_the_change() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [ONGOING],
        held=subscription((E3, "7")),
        options=PlanOptions(change_strategy=ChangeStrategy.UPDATE_IN_PLACE),
    )
    assert summary(plan) == [
        "update task:7:line1:update #3001: 7 × 30.00/24.00 2026-01-01..",
        "create task:7:line1:prorate: 2 × 20.00/16.00 2026-11-11..2026-11-30",
    ]
    assert amounts(plan) == ("40.00", "150.00", "210.00")


def test_update_in_place_to_zero_cancels_instead() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="-5"),)),
        [ONGOING],
        held=subscription((E3, "0")),
        options=PlanOptions(change_strategy=ChangeStrategy.UPDATE_IN_PLACE),
    )
    assert [(a.action, a.kind) for a in plan.actions] == [
        (Action.CANCEL, AdditionKind.RECURRING),
        (Action.CREATE, AdditionKind.PRORATE),
    ]
    assert amounts(plan) == ("-100.00", "150.00", "0.00")


def test_a_change_with_connectwise_prices_keeps_the_existing_price() -> None:
    current = addition(id=3001, quantity="5", price="28.00", cost="21.00")
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [current],
        held=subscription((E3, "7")),
        source=PriceSource.CONNECTWISE,
    )
    assert [a.action for a in plan.actions] == [Action.CANCEL, Action.CREATE]
    assert plan.actions[1].unit_price == Decimal("28.00")
    assert plan.actions[1].unit_cost == Decimal("21.00")
    assert notice_codes(plan) == [NoticeCode.PARTIAL_PERIOD_NOT_CHARGED]
    assert amounts(plan) == ("0.00", "140.00", "196.00")


def test_a_quantity_mismatch_follows_the_marketplace_and_names_the_numbers() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [addition(id=3001, quantity="4")],
        held=subscription((E3, "7")),
    )
    assert notice_codes(plan) == [NoticeCode.QUANTITY_MISMATCH]
    message = plan.notices[0].message
    assert (
        "bills 4" in message and "+2" in message and "makes 6" in message and "holds 7" in message
    )
    assert plan.actions[1].quantity == 7
    assert not plan.blocked


def test_no_ongoing_addition_still_follows_the_marketplace() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)), [], held=subscription((E3, "7"))
    )
    assert notice_codes(plan) == [NoticeCode.NO_ONGOING_ADDITION]
    assert summary(plan) == [
        "create task:7:line1:recurring: 7 × 30.00/24.00 2026-12-01..",
        "create task:7:line1:prorate: 2 × 20.00/16.00 2026-11-11..2026-11-30",
    ]


def test_no_ongoing_addition_and_nothing_left_creates_no_recurring() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="-2"),)), [], held=subscription((E3, "0"))
    )
    assert [a.kind for a in plan.actions] == [AdditionKind.PRORATE]


def test_two_ongoing_additions_for_the_product_block_the_plan() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [addition(id=3002), addition(id=3001)],
        held=subscription((E3, "7")),
    )
    assert plan.actions == ()
    assert notice_codes(plan) == [NoticeCode.AMBIGUOUS_ONGOING_ADDITION]
    assert "#3001, #3002" in plan.notices[0].message
    assert plan.blocked


def test_ended_and_other_product_additions_do_not_count_as_ongoing() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [
            addition(id=1, effective="2025-01-01", cancelled="2026-10-31"),
            addition(id=2, product_id=4242),
            ONGOING,
            addition(id=4, effective="2026-11-05", cancelled="2026-11-30"),
        ],
        held=subscription((E3, "7")),
    )
    assert plan.actions[0].addition_id == 3001
    assert notice_codes(plan) == []


def test_a_second_change_in_a_period_updates_the_addition_that_starts_next_period() -> None:
    # The first change of the month cancelled #3001 at the period end and added #3002 from
    # December: cancelling #3002 in November would end it before it starts.
    first_change = [
        addition(id=3001, quantity="5", cancelled="2026-11-30"),
        addition(id=3002, quantity="7", effective="2026-12-01"),
    ]
    plan = plan_for(
        order(OrderType.CHANGE, on="2026-11-20", lines=(line(quantity="1"),)),
        first_change,
        held=subscription((E3, "8")),
    )
    assert summary(plan) == [
        "update task:7:line1:update #3002: 8 × 30.00/24.00 2026-12-01..",
        "create task:7:line1:prorate: 1 × 11.00/8.80 2026-11-20..2026-11-30",
    ]
    assert amounts(plan) == ("11.00", "210.00", "240.00")


def test_dropping_to_zero_cancels_without_a_new_recurring_addition() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="-5"),)),
        [ONGOING],
        held=subscription((E3, "0")),
    )
    assert [(a.action, a.kind) for a in plan.actions] == [
        (Action.CANCEL, AdditionKind.RECURRING),
        (Action.CREATE, AdditionKind.PRORATE),
    ]
    assert amounts(plan) == ("-100.00", "150.00", "0.00")


def test_dropping_to_zero_before_the_addition_starts_zeroes_it() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="-7"),)),
        [addition(id=3002, quantity="7", effective="2026-12-01")],
        held=subscription((E3, "0")),
    )
    assert summary(plan)[0] == "update task:7:line1:update #3002: 0 × 30.00/24.00 2026-12-01.."
    assert amounts(plan)[2] == "0.00"


def test_a_change_of_nothing_adds_no_prorate() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="0"),)),
        [ONGOING],
        held=subscription((E3, "5")),
    )
    assert [a.kind for a in plan.actions] == [AdditionKind.RECURRING, AdditionKind.RECURRING]
    assert amounts(plan) == ("0.00", "150.00", "150.00")


def test_a_product_missing_from_the_subscription_is_derived_from_the_change() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [ONGOING],
        held=subscription((BACKUP, "1")),
    )
    assert notice_codes(plan) == [NoticeCode.PRODUCT_NOT_IN_SUBSCRIPTION]
    assert "5 +2 = 7" in plan.notices[0].message
    assert plan.actions[1].quantity == 7


def test_a_change_without_subscription_or_ongoing_addition_takes_the_change_as_total() -> None:
    plan = plan_for(order(OrderType.CHANGE, lines=(line(quantity="2"),)), [], held=None)
    assert notice_codes(plan) == [
        NoticeCode.PRODUCT_NOT_IN_SUBSCRIPTION,
        NoticeCode.NO_ONGOING_ADDITION,
    ]
    assert "0 +2 = 2" in plan.notices[0].message


def test_a_change_setup_fee_is_one_time() -> None:
    setup = line(2, type=LineType.SETUP, quantity="1", price="15.00", cost="0")
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"), setup)),
        [ONGOING],
        held=subscription((E3, "7")),
    )
    assert summary(plan)[3] == "create task:7:line2:one_time: 1 × 15.00/0 2026-11-11..2026-11-30"


# --- Billing Orders ----------------------------------------------------------------------------

OCTOBER = BillingPeriod(d("2026-10-01"), d("2026-11-01"))


def test_usage_bills_each_line_once_for_the_usage_period() -> None:
    usage = line(
        type=LineType.OVERUSE,
        mpn=BACKUP,
        quantity="120",
        price="0.05",
        cost="0.03",
        description="Backup storage, GB",
    )
    backup = catalog_item(id=9002, identifier="ACR-GB", price="0.06", cost="0.04")
    plan = plan_for(
        order(OrderType.BILLING, on="2026-11-02", period=OCTOBER, lines=(usage,)),
        catalog={BACKUP: backup},
    )
    assert summary(plan) == [
        "create task:7:line1:one_time: 120 × 0.05/0.03 2026-10-01..2026-10-31",
    ]
    assert plan.extended_price(plan.actions[0]) == Decimal("6.00")
    assert plan.actions[0].description == "Backup storage, GB (usage 2026-10-01 to 2026-10-31)"
    assert amounts(plan) == ("0.00", "0.00", "0.00")
    connectwise = plan_for(
        order(OrderType.BILLING, on="2026-11-02", period=OCTOBER, lines=(usage,)),
        catalog={BACKUP: backup},
        source=PriceSource.CONNECTWISE,
    )
    assert summary(connectwise) == [
        "create task:7:line1:one_time: 120 × 0.06/0.04 2026-10-01..2026-10-31"
    ]


def test_a_billing_order_ignores_recurring_lines() -> None:
    plan = plan_for(order(OrderType.BILLING, lines=(line(),)))
    assert notice_codes(plan) == [NoticeCode.LINE_IGNORED, NoticeCode.NOTHING_TO_CHANGE]
    assert "Billing Order" in plan.notices[1].message


# --- Renewal and Cancellation Orders -----------------------------------------------------------


def test_a_renewal_needs_no_change() -> None:
    plan = plan_for(order(OrderType.RENEWAL, on="2026-11-01", lines=(line(),)), [ONGOING])
    assert plan.actions == ()
    assert notice_codes(plan) == [NoticeCode.LINE_IGNORED, NoticeCode.NOTHING_TO_CHANGE]
    assert amounts(plan) == ("0.00", "150.00", "150.00")


def test_a_cancellation_ends_the_addition_the_day_before_it_takes_effect() -> None:
    plan = plan_for(
        order(OrderType.CANCELLATION, lines=(line(type=LineType.CANCELLATION), line(2))),
        [ONGOING],
    )
    assert summary(plan) == [
        "cancel task:7:line1:cancel #3001: 5 × 30.00/24.00 2026-01-01..2026-11-10",
    ]
    assert amounts(plan) == ("0.00", "150.00", "0.00")


def test_a_cancellation_never_ends_an_addition_before_it_starts() -> None:
    plan = plan_for(
        order(OrderType.CANCELLATION, lines=(line(type=LineType.CANCELLATION),)),
        [addition(id=3001, effective="2026-11-11")],
    )
    assert plan.actions[0].cancelled_date == d("2026-11-11")
    undated = plan_for(
        order(OrderType.CANCELLATION, lines=(line(type=LineType.CANCELLATION),)),
        [addition(id=3001, effective=None)],
    )
    assert undated.actions[0].cancelled_date == d("2026-11-10")


def test_a_cancellation_without_lines_cancels_every_product_of_the_subscription() -> None:
    plan = plan_for(
        order(OrderType.CANCELLATION), [ONGOING], held=subscription((E3, "5"), (BACKUP, "1"))
    )
    assert summary(plan) == [
        "cancel task:7:line0:cancel #3001: 5 × 30.00/24.00 2026-01-01..2026-11-10"
    ]
    assert notice_codes(plan) == [NoticeCode.UNMAPPED_PRODUCT]
    assert plan.blocked


def test_a_cancellation_reports_products_it_cannot_cancel() -> None:
    lines = (line(type=LineType.CANCELLATION),)
    nothing = plan_for(order(OrderType.CANCELLATION, lines=lines), [])
    assert notice_codes(nothing) == [NoticeCode.NO_ONGOING_ADDITION, NoticeCode.NOTHING_TO_CHANGE]
    assert "nothing to cancel" in nothing.notices[0].message
    ambiguous = plan_for(
        order(OrderType.CANCELLATION, lines=lines), [addition(id=1), addition(id=2)]
    )
    assert notice_codes(ambiguous) == [NoticeCode.AMBIGUOUS_ONGOING_ADDITION]
    assert plan_for(order(OrderType.CANCELLATION), []).notices[0].code is (
        NoticeCode.NOTHING_TO_CHANGE
    )


# --- What blocks a plan, and other notices -----------------------------------------------------


def test_an_unmapped_product_blocks_its_line() -> None:
    plan = plan_for(order(lines=(line(mpn="UNKNOWN-MPN"),)))
    assert plan.actions == ()
    assert notice_codes(plan) == [NoticeCode.UNMAPPED_PRODUCT]
    assert "UNKNOWN-MPN" in plan.notices[0].message
    assert plan.notices[0].line == 1
    assert plan.blocked


def test_a_bundle_cannot_be_an_addition() -> None:
    plan = plan_for(
        order(lines=(line(),)), catalog={E3: catalog_item(product_class=ProductClass.BUNDLE)}
    )
    assert notice_codes(plan) == [NoticeCode.BUNDLE_PRODUCT]
    assert plan.blocked


def test_a_line_in_another_currency_blocks_it() -> None:
    plan = plan_for(order(lines=(line(currency="EUR"),)))
    assert notice_codes(plan) == [NoticeCode.CURRENCY_MISMATCH]
    assert "EUR" in plan.notices[0].message and "USD" in plan.notices[0].message


def test_an_order_effective_outside_its_period_blocks_it() -> None:
    plan = plan_for(order(on="2026-12-05", lines=(line(),)))
    assert notice_codes(plan) == [NoticeCode.EFFECTIVE_DATE_OUTSIDE_PERIOD]
    assert "2026-12-05" in plan.notices[0].message


def test_a_prorating_agreement_is_flagged() -> None:
    plan = plan_for(order(lines=(line(),)), target=agreement(prorate_flag=True))
    assert notice_codes(plan) == [NoticeCode.AGREEMENT_PRORATES]
    assert not plan.blocked
    no_prorate = plan_for(
        order(on="2026-11-01", lines=(line(),)), target=agreement(prorate_flag=True)
    )
    assert notice_codes(no_prorate) == []


def test_a_missing_marketplace_cost_falls_back_to_the_catalog_cost() -> None:
    plan = plan_for(order(lines=(line(cost=None),)))
    assert notice_codes(plan) == [NoticeCode.COST_FROM_CATALOG]
    assert [str(a.unit_cost) for a in plan.actions] == ["25.00", "16.67"]


def test_a_single_line_can_take_its_prices_from_the_other_source() -> None:
    setup = line(2, type=LineType.SETUP, quantity="1", price="50.00")
    plan = plan_for(
        order(lines=(line(), setup)),
        line_sources={2: PriceSource.CONNECTWISE},
        setup_items={E3: setup_item(price="45.00")},
    )
    assert [(a.key, str(a.unit_price), a.price_source.value) for a in plan.actions] == [
        ("task:7:line1:recurring", "30.00", "marketplace"),
        ("task:7:line1:prorate", "20.00", "marketplace"),
        ("task:7:line2:one_time", "45.00", "connectwise"),
    ]


def test_unbillable_additions_are_left_out_of_the_amounts() -> None:
    free = addition(id=3005, product_id=77, quantity="3", bill_customer=BillCustomer.NO_CHARGE)
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [ONGOING, free],
        held=subscription((E3, "7")),
    )
    assert amounts(plan) == ("40.00", "150.00", "210.00")


def test_zero_decimal_currencies_prorate_to_whole_units() -> None:
    yen = Currency("JPY", 0)
    plan = plan_for(
        order(lines=(line(price="1000", cost="700", currency="JPY"),)),
        target=agreement(currency=yen),
    )
    assert [str(a.unit_price) for a in plan.actions] == ["1000", "667"]
    assert [str(a.unit_cost) for a in plan.actions] == ["700", "467"]
    assert amounts(plan) == ("3335", "0", "5000")


def test_an_addition_with_an_open_start_counts_as_ongoing() -> None:
    plan = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [addition(id=3001, effective=None)],
        held=subscription((E3, "7")),
    )
    assert plan.actions[0].action is Action.CANCEL
    assert plan.actions[0].effective_date == d("2026-11-01")


@pytest.mark.parametrize("order_type", [OrderType.SALES, OrderType.CHANGE])
def test_a_recurring_line_ignored_by_no_handler_is_reported(order_type: OrderType) -> None:
    plan = plan_for(order(order_type, lines=(line(type=LineType.OVERUSE),)))
    assert notice_codes(plan) == [NoticeCode.LINE_IGNORED, NoticeCode.NOTHING_TO_CHANGE]


@pytest.mark.parametrize(
    ("order_type", "line_type"),
    [
        (OrderType.SALES, LineType.RECURRING),
        (OrderType.SALES, LineType.SETUP),
        (OrderType.CHANGE, LineType.SETUP),
        (OrderType.BILLING, LineType.OVERUSE),
    ],
)
@pytest.mark.parametrize("quantity", ["0", "-1"])
def test_charges_of_nothing_or_less_are_not_planned(
    order_type: OrderType, line_type: LineType, quantity: str
) -> None:
    plan = plan_for(order(order_type, lines=(line(type=line_type, quantity=quantity),)))
    assert plan.actions == ()
    assert notice_codes(plan) == [NoticeCode.LINE_IGNORED, NoticeCode.NOTHING_TO_CHANGE]
    assert "nothing to bill" in plan.notices[0].message


def test_a_cancellation_looks_only_at_recurring_and_cancellation_lines() -> None:
    refund = line(1, type=LineType.SETUP, mpn="SETUP-ONLY")
    plan = plan_for(
        order(OrderType.CANCELLATION, lines=(refund, line(2, type=LineType.CANCELLATION))),
        [ONGOING],
    )
    assert [(a.key, a.addition_id) for a in plan.actions] == [("task:7:line2:cancel", 3001)]
    assert notice_codes(plan) == []


def test_a_cancellation_effective_outside_its_period_blocks_it() -> None:
    plan = plan_for(
        order(OrderType.CANCELLATION, on="2026-12-03", lines=(line(type=LineType.CANCELLATION),)),
        [ONGOING],
    )
    assert plan.actions == ()
    assert notice_codes(plan) == [NoticeCode.EFFECTIVE_DATE_OUTSIDE_PERIOD]
    assert plan.notices[0].line is None
