"""Planning for a PSA that prorates by itself (``PlanOptions(psa=PsaStyle.AUTOTASK)``).

Units move by dated adjustments and Autotask bills the partial period itself, so a plan has no
prorate line; its prorated amount is what Autotask will bill (DESIGN §3's seed formula, the
Autotask emulator's billing). Unless a test says otherwise: November 2026 (30 days), order
effective 2026-11-11 (20 of 30 days left: 30.00 prorates to 20.00), marketplace price 30.00 and
cost 24.00, catalog price 32.00 and cost 25.00.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from itertools import count

from hypothesis import given
from hypothesis import strategies as st

from psasync.domain.agreements import Addition, Agreement, BillCustomer, CatalogItem, ProductClass
from psasync.domain.billing import BillingPeriod, PeriodLength, PeriodUnit, add_months
from psasync.domain.money import Currency, Money, round_half_up
from psasync.domain.orders import (
    LineType,
    Order,
    OrderLine,
    OrderStatus,
    OrderType,
    Subscription,
    SubscriptionProduct,
)
from psasync.domain.plan import (
    Action,
    AdditionKind,
    ChangeStrategy,
    NoticeCode,
    Plan,
    PlannedAddition,
    PlanOptions,
    PriceOrigin,
    PriceSource,
    PsaStyle,
    Task,
)
from psasync.domain.planner import plan_additions
from psasync.domain.review import ReviewedAddition, editable_fields, review_plan
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
    subscription,
)

AUTOTASK = PlanOptions(psa=PsaStyle.AUTOTASK)
OCTOBER = BillingPeriod(d("2026-10-01"), d("2026-11-01"))
ONGOING = addition(id=3001, quantity="5")


def autotask_plan(
    placed: Order,
    additions: Sequence[Addition] = (),
    *,
    held: Subscription | None = None,
    target: Agreement | None = None,
    options: PlanOptions = AUTOTASK,
    source: PriceSource = PriceSource.MARKETPLACE,
    catalog: dict[str, CatalogItem] | None = None,
    setup_items: dict[str, CatalogItem] | None = None,
) -> Plan:
    """The plan for an Autotask contract (the adapter's agreements carry prorate_flag)."""
    return plan_for(
        placed,
        additions,
        held=held,
        target=target or agreement(prorate_flag=True),
        options=options,
        source=source,
        catalog=catalog,
        setup_items=setup_items,
    )


def change(
    quantity: str,
    total: str,
    additions: Sequence[Addition] = (ONGOING,),
    *,
    on: str = "2026-11-11",
    price: str = "30.00",
    **kwargs: object,
) -> Plan:
    return autotask_plan(
        order(OrderType.CHANGE, on=on, lines=(line(quantity=quantity, price=price),)),
        additions,
        held=subscription((E3, total)),
        **kwargs,  # type: ignore[arg-type]
    )


def cancellation(additions: Sequence[Addition] = (ONGOING,), *, on: str = "2026-11-11") -> Plan:
    return autotask_plan(
        order(OrderType.CANCELLATION, on=on, lines=(line(type=LineType.CANCELLATION),)),
        additions,
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


# --- the option --------------------------------------------------------------------------------


def test_the_default_style_is_connectwise_and_names_each_psa() -> None:
    assert PlanOptions().psa is PsaStyle.CONNECTWISE
    assert plan_for(order(lines=(line(),))).psa is PsaStyle.CONNECTWISE
    assert (PsaStyle.CONNECTWISE.vendor, PsaStyle.AUTOTASK.vendor) == ("ConnectWise", "Autotask")
    assert [style.prorates_itself for style in PsaStyle] == [False, True]
    assert autotask_plan(order(lines=(line(),))).psa is PsaStyle.AUTOTASK


# --- Sales Orders ------------------------------------------------------------------------------


def test_sales_mid_period_is_one_recurring_create_from_its_date_without_a_prorate() -> None:
    plan = autotask_plan(order(lines=(line(quantity="5"),)))
    assert summary(plan) == ["create task:7:line1:recurring: 5 × 30.00/24.00 2026-11-11.."]
    # Autotask bills 5 × 20.00 for the rest of November; the agreement's own proration is
    # the point, so no AgreementProrates warning.
    assert amounts(plan) == ("100.00", "0.00", "150.00")
    assert plan.notices == ()
    assert plan.psa_prorated(plan.actions[0]) == Decimal("100.00")


def test_sales_on_the_period_start_prorates_nothing() -> None:
    plan = autotask_plan(order(on="2026-11-01", lines=(line(quantity="5"),)))
    assert summary(plan) == ["create task:7:line1:recurring: 5 × 30.00/24.00 2026-11-01.."]
    assert amounts(plan) == ("0.00", "0.00", "150.00")


def test_sales_setup_fees_are_one_time_creates_that_autotask_does_not_prorate() -> None:
    setup = line(2, type=LineType.SETUP, quantity="1", price="50.00", cost="20.00")
    plan = autotask_plan(order(lines=(line(quantity="5"), setup)))
    assert summary(plan) == [
        "create task:7:line1:recurring: 5 × 30.00/24.00 2026-11-11..",
        "create task:7:line2:one_time: 1 × 50.00/20.00 2026-11-11..2026-11-30",
    ]
    assert plan.psa_prorated(plan.actions[1]) == Decimal("0.00")
    assert (plan.prorated_amount, plan.one_time_amount) == (Decimal("100.00"), Decimal("50.00"))


def test_sales_with_psa_prices_is_prorated_by_autotask_at_the_catalog_price() -> None:
    plan = autotask_plan(order(lines=(line(quantity="5"),)), source=PriceSource.CONNECTWISE)
    assert summary(plan) == ["create task:7:line1:recurring: 5 × 32.00/25.00 2026-11-11.."]
    # 32.00 × 20/30 = 21.33 a seat; psasync charges nothing itself, so no
    # PartialPeriodNotCharged.
    assert amounts(plan) == ("106.65", "0.00", "160.00")
    assert plan.notices == ()


def test_sales_next_to_an_existing_line_says_autotask_adds_the_units_to_it() -> None:
    plan = autotask_plan(order(lines=(line(quantity="2"),)), [ONGOING])
    assert notice_codes(plan) == [NoticeCode.EXISTING_ONGOING_ADDITION]
    assert "Autotask adds the new subscription's units to it" in plan.notices[0].message
    assert amounts(plan) == ("40.00", "150.00", "210.00")


# --- Change Orders -----------------------------------------------------------------------------


def test_an_upgrade_is_one_update_from_its_date_as_the_emulator_bills_it() -> None:
    # +2 seats from 11 Nov at 12.50 in a 30-day November: Autotask bills 2 × 8.33.
    plan = change("2", "7", [addition(id=3001, quantity="5", price="12.50")], price="12.50")
    assert summary(plan) == ["update task:7:line1:update #3001: 7 × 12.50/24.00 2026-11-11.."]
    assert amounts(plan) == ("16.66", "62.50", "87.50")
    assert plan.notices == ()


def test_a_downgrade_is_a_credit_autotask_gives_whatever_the_settings() -> None:
    expected = ["update task:7:line1:update #3001: 3 × 30.00/24.00 2026-11-11.."]
    for options in (
        AUTOTASK,
        replace(AUTOTASK, credit_downgrades=False),
        replace(AUTOTASK, change_strategy=ChangeStrategy.UPDATE_IN_PLACE),
    ):
        plan = change("-2", "3", options=options)
        assert summary(plan) == expected
        assert amounts(plan) == ("-40.00", "150.00", "90.00")
        assert plan.notices == ()


def test_a_change_on_the_period_start_changes_the_periods_recurring_line() -> None:
    plan = change("2", "7", on="2026-11-01")
    assert summary(plan) == ["update task:7:line1:update #3001: 7 × 30.00/24.00 2026-11-01.."]
    assert amounts(plan) == ("0.00", "150.00", "210.00")


def test_a_new_price_prorates_the_new_units_at_it_and_the_old_at_theirs() -> None:
    # The emulator: 6 × p'(36.00) − 5 × p'(30.00) = 6 × 24.00 − 5 × 20.00.
    plan = change("1", "6", price="36.00")
    assert summary(plan) == ["update task:7:line1:update #3001: 6 × 36.00/24.00 2026-11-11.."]
    assert amounts(plan) == ("44.00", "150.00", "216.00")


def test_a_quantity_mismatch_moves_the_units_to_the_marketplace_total() -> None:
    plan = change("2", "7", [addition(id=3001, quantity="4")])
    assert summary(plan) == ["update task:7:line1:update #3001: 7 × 30.00/24.00 2026-11-11.."]
    assert notice_codes(plan) == [NoticeCode.QUANTITY_MISMATCH]
    assert plan.notices[0].message.startswith("Autotask bills 4 × M365-E3; with the change of +2")
    # Autotask prorates the change of its units, 4 → 7.
    assert amounts(plan) == ("60.00", "120.00", "210.00")


def test_no_ongoing_line_creates_the_marketplace_total_from_the_change_date() -> None:
    plan = change("2", "7", [])
    assert summary(plan) == ["create task:7:line1:recurring: 7 × 30.00/24.00 2026-11-11.."]
    assert notice_codes(plan) == [NoticeCode.NO_ONGOING_ADDITION]
    assert "7 from 2026-11-11, all of them prorated by Autotask" in plan.notices[0].message
    assert amounts(plan) == ("140.00", "0.00", "210.00")


def test_no_ongoing_line_and_nothing_left_plans_nothing() -> None:
    plan = change("-2", "0", [])
    assert plan.actions == ()
    assert notice_codes(plan) == [NoticeCode.NO_ONGOING_ADDITION, NoticeCode.NOTHING_TO_CHANGE]


def test_a_change_to_zero_takes_the_units_to_zero_at_the_existing_price() -> None:
    plan = change("-5", "0", price="36.00")
    (update,) = plan.actions
    assert describe(update) == "update task:7:line1:update #3001: 0 × 30.00/24.00 2026-11-11.."
    assert update.price_origin is PriceOrigin.EXISTING_ADDITION
    assert amounts(plan) == ("-100.00", "150.00", "0.00")


def test_a_change_never_moves_units_before_the_line_starts() -> None:
    later = change("2", "7", [addition(id=3001, effective="2026-11-21")])
    assert summary(later) == ["update task:7:line1:update #3001: 7 × 30.00/24.00 2026-11-21.."]
    assert later.prorated_amount == Decimal("20.00")  # 2 × 10.00 from 21 Nov
    undated = change("2", "7", [addition(id=3001, effective=None)])
    assert undated.actions[0].effective_date == d("2026-11-11")


def test_a_change_setup_fee_is_a_one_time_create() -> None:
    setup = line(2, type=LineType.SETUP, quantity="1", price="50.00")
    plan = autotask_plan(
        order(OrderType.CHANGE, lines=(line(quantity="2"), setup)),
        [ONGOING],
        held=subscription((E3, "7")),
    )
    assert [(a.action, a.kind) for a in plan.actions] == [
        (Action.UPDATE, AdditionKind.RECURRING),
        (Action.CREATE, AdditionKind.ONE_TIME),
    ]


def test_the_messages_name_autotask() -> None:
    ambiguous = change("2", "7", [addition(id=3002), addition(id=3001)])
    assert ambiguous.blocked
    assert "cancel all but one in Autotask" in ambiguous.notices[0].message
    unmapped = change("2", "7", catalog={})
    assert unmapped.notices[0].message == "Product MS-365-E3 is not mapped to an Autotask Service."
    setup = line(2, type=LineType.SETUP, quantity="1", price="50.00")
    priced = autotask_plan(order(lines=(setup,)), source=PriceSource.CONNECTWISE)
    assert notice_codes(priced) == [NoticeCode.SETUP_PRICE_FROM_MARKETPLACE]
    assert priced.notices[0].message.endswith("to price it from Autotask.")


# --- Billing Orders ----------------------------------------------------------------------------


def test_usage_is_one_charge_per_line_for_the_usage_period() -> None:
    usage = line(type=LineType.OVERUSE, mpn=BACKUP, quantity="120", price="0.05", cost="0.03")
    backup = catalog_item(id=9002, identifier="ACR-GB", price="0.06", cost="0.04")
    plan = autotask_plan(
        order(OrderType.BILLING, on="2026-11-02", period=OCTOBER, lines=(usage,)),
        catalog={BACKUP: backup},
    )
    assert summary(plan) == ["create task:7:line1:one_time: 120 × 0.05/0.03 2026-10-01..2026-10-31"]
    assert (plan.prorated_amount, plan.one_time_amount) == (Decimal("0.00"), Decimal("6.00"))


# --- Cancellations -----------------------------------------------------------------------------


def test_a_cancellation_takes_the_units_to_zero_from_its_date() -> None:
    plan = cancellation()
    # Cancelled the day before: the adapter adjusts to 0 from 11 Nov, Autotask credits the rest.
    assert summary(plan) == [
        "cancel task:7:line1:cancel #3001: 5 × 30.00/24.00 2026-01-01..2026-11-10"
    ]
    assert plan.changed_on(plan.actions[0]) == d("2026-11-11")
    assert amounts(plan) == ("-100.00", "150.00", "0.00")


def test_a_cancellation_on_the_period_start_credits_nothing() -> None:
    plan = cancellation(on="2026-11-01")
    assert plan.actions[0].cancelled_date == d("2026-10-31")
    assert amounts(plan) == ("0.00", "150.00", "0.00")


def test_a_line_not_started_before_the_cancellation_is_taken_to_zero_at_its_start() -> None:
    # Adjustments cannot be deleted: the adapter reverses later ones and adjusts to 0 from the
    # line's start. A line starting on the cancellation day itself bills nothing either.
    on_the_day = cancellation([addition(id=3001, effective="2026-11-11")])
    assert summary(on_the_day) == ["delete task:7:line1:delete #3001: 5 × 30.00/24.00 2026-11-11.."]
    assert amounts(on_the_day) == ("-100.00", "150.00", "0.00")
    later = cancellation([addition(id=3001, effective="2026-11-21")])
    assert [a.action for a in later.actions] == [Action.DELETE]
    assert later.prorated_amount == Decimal("-50.00")
    next_period = cancellation([addition(id=3001, effective="2026-12-01")])
    assert amounts(next_period) == ("0.00", "150.00", "0.00")
    # ConnectWise keeps its reading: a line starting on the day ends on the day.
    connectwise = plan_for(
        order(OrderType.CANCELLATION, lines=(line(type=LineType.CANCELLATION),)),
        [addition(id=3001, effective="2026-11-11")],
    )
    assert [a.action for a in connectwise.actions] == [Action.CANCEL]


def test_a_cancel_without_a_date_changes_billing_on_its_effective_date() -> None:
    plan = cancellation()
    undated = plan.with_actions([replace(plan.actions[0], cancelled_date=None)])
    assert undated.changed_on(undated.actions[0]) == d("2026-01-01")
    assert undated.prorated_amount == Decimal("0.00")


def test_an_update_of_a_line_the_plan_did_not_find_prorates_all_its_units() -> None:
    plan = change("2", "7")
    assert replace(plan, baseline=()).prorated_amount == Decimal("140.00")


def test_unbillable_and_skipped_lines_are_left_out_of_the_amount() -> None:
    plan = autotask_plan(order(lines=(line(quantity="5"),)))
    unbillable = replace(plan.actions[0], bill_customer=BillCustomer.DO_NOT_BILL)
    assert plan.with_actions([unbillable]).prorated_amount == Decimal("0.00")
    assert plan.with_actions([replace(plan.actions[0], skip=True)]).prorated_amount == 0


# --- posted periods ----------------------------------------------------------------------------


def posted(plan: Plan) -> list[tuple[int | None, str]]:
    return [(n.line, n.message) for n in plan.notices if n.code is NoticeCode.PERIOD_INVOICED]


def test_a_change_dated_in_a_posted_period_blocks_with_the_reason() -> None:
    plan = change("2", "7", target=agreement(prorate_flag=True, invoiced_through="2026-11-30"))
    assert plan.blocked
    assert posted(plan) == [
        (
            1,
            "Line 1: task:7:line1:update changes billing from 2026-11-11, but Autotask has "
            "approved and posted the contract through 2026-11-30 and refuses changes there. "
            "Move it after that date or leave it out.",
        )
    ]
    # Posted through October only: November's change is free.
    assert not change("2", "7", target=agreement(invoiced_through="2026-10-31")).blocked


def test_every_write_dated_in_a_posted_period_blocks() -> None:
    through = agreement(invoiced_through="2026-11-11")
    setup = line(2, type=LineType.SETUP, quantity="1", price="50.00")
    sales = autotask_plan(order(lines=(line(), setup)), target=through)
    assert [line for line, _ in posted(sales)] == [1, 2]
    cancel = autotask_plan(
        order(OrderType.CANCELLATION, lines=(line(type=LineType.CANCELLATION),)),
        [ONGOING],
        target=through,
    )
    assert cancel.blocked
    # The units go to 0 from the 11th: posted through the 10th leaves that day free.
    day_before = agreement(invoiced_through="2026-11-10")
    assert not autotask_plan(
        order(OrderType.CANCELLATION, lines=(line(type=LineType.CANCELLATION),)),
        [ONGOING],
        target=day_before,
    ).blocked


def test_review_moves_a_blocked_update_to_the_next_period_and_unblocks_it() -> None:
    plan = change("2", "7", target=agreement(invoiced_through="2026-11-30"))
    (update,) = plan.actions
    outcome = review_plan(plan, [reviewed(update, effective_date=d("2026-12-01"))])
    assert outcome.ok and not outcome.plan.blocked
    assert outcome.plan.psa is PsaStyle.AUTOTASK
    assert amounts(outcome.plan) == ("0.00", "150.00", "210.00")
    skipped = review_plan(plan, [reviewed(update, skip=True)])
    assert skipped.ok and not skipped.plan.blocked


# --- review ------------------------------------------------------------------------------------


def test_an_updates_effective_date_is_editable_within_the_period_for_autotask_only() -> None:
    assert "effectiveDate" in editable_fields(Action.UPDATE, psa=PsaStyle.AUTOTASK)
    assert "effectiveDate" not in editable_fields(Action.UPDATE)
    assert editable_fields(Action.CANCEL, psa=PsaStyle.AUTOTASK) == editable_fields(Action.CANCEL)
    plan = change("2", "7")
    (update,) = plan.actions
    moved = review_plan(plan, [reviewed(update, effective_date=d("2026-11-21"))])
    assert moved.ok
    assert amounts(moved.plan) == ("20.00", "150.00", "210.00")
    for day in ("2026-10-31", "2026-12-02"):
        outcome = review_plan(plan, [reviewed(update, effective_date=d(day))])
        assert [(e.field, e.code) for e in outcome.errors] == [("effectiveDate", "OutOfRange")]
        assert "between 2026-11-01 and 2026-12-01" in outcome.errors[0].message
    connectwise = plan_for(
        order(OrderType.CHANGE, lines=(line(quantity="2"),)),
        [ONGOING],
        held=subscription((E3, "7")),
        options=PlanOptions(change_strategy=ChangeStrategy.UPDATE_IN_PLACE),
    )
    cw_update = connectwise.actions[0]
    refused = review_plan(connectwise, [reviewed(cw_update, effective_date=d("2026-11-21"))])
    assert [(e.field, e.code) for e in refused.errors] == [("effectiveDate", "ReadOnly")]


def test_an_update_may_not_move_before_the_contract_starts_billing() -> None:
    plan = change("2", "7", target=agreement(bill_start="2026-11-05"))
    (update,) = plan.actions
    early = review_plan(plan, [reviewed(update, effective_date=d("2026-11-03"))])
    assert [(e.field, e.code) for e in early.errors] == [("effectiveDate", "OutOfRange")]
    assert "billing start date 2026-11-05" in early.errors[0].message
    assert review_plan(plan, [reviewed(update, effective_date=d("2026-11-05"))]).ok


def test_a_recurring_create_keeps_its_bounds() -> None:
    plan = autotask_plan(order(lines=(line(quantity="5"),)))
    (create,) = plan.actions
    assert not review_plan(plan, [reviewed(create, effective_date=d("2026-12-02"))]).ok
    moved = review_plan(plan, [reviewed(create, effective_date=d("2026-11-21"))])
    assert moved.ok and moved.plan.prorated_amount == Decimal("50.00")


# --- properties --------------------------------------------------------------------------------

ITEM = CatalogItem(
    id=100,
    identifier="ITEM-A",
    description="Item A",
    price=Decimal("12.34"),
    cost=Decimal("9.87"),
    product_class=ProductClass.SERVICE,
)
MPN = "MPN-A"
CURRENCIES = (Currency("JPY", 0), Currency("USD", 2), Currency("KWD", 3))
MONTHS = (1, 3, 6, 12)
ids = count(1000)


@dataclass(frozen=True)
class World:
    """One contract in one currency over one billing period, selling one product."""

    period: BillingPeriod
    currency: Currency
    price: Decimal

    def plan(
        self,
        order_type: OrderType,
        *,
        on: dt.date,
        change: int,
        total: int,
        held: int | None = None,
        psa: PsaStyle = PsaStyle.AUTOTASK,
    ) -> Plan:
        """One order line of ``change`` seats (the subscription then holds ``total``) against
        a contract billing ``held`` seats (None: none)."""
        instant = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)
        price = Money(self.price, self.currency.code)
        order_line = OrderLine(1, LineType.RECURRING, MPN, "Seats", Decimal(change), price, price)
        placed = Order(
            id="O",
            number="CH1",
            type=order_type,
            status=OrderStatus.COMPLETED,
            customer_id="C",
            subscription_id="S",
            created_at=instant,
            provisioned_at=instant,
            last_billing_date=self.period.start,
            next_billing_date=self.period.end,
            lines=(order_line,),
        )
        subscription_ = Subscription(
            id="S",
            customer_id="C",
            billing_period=PeriodLength(PeriodUnit.MONTH, 1),
            created_on=dt.date(2020, 1, 1),
            products=(SubscriptionProduct(MPN, Decimal(total)),),
        )
        return plan_additions(
            task=Task(id=next(ids), order=placed, subscription=subscription_, period=self.period),
            agreement=agreement(currency=self.currency, bill_start=None, prorate_flag=True),
            additions=self.seats(held) if held is not None else (),
            catalog={MPN: ITEM},
            price_source=PriceSource.MARKETPLACE,
            options=PlanOptions(psa=psa),
        )

    def seats(self, quantity: int) -> tuple[Addition, ...]:
        return (
            Addition(
                id=1,
                product=ITEM.ref,
                quantity=Decimal(quantity),
                unit_price=self.price,
                unit_cost=self.price,
                effective_date=dt.date(2020, 1, 1),
                cancelled_date=None,
            ),
        )

    def day(self, offset: int) -> dt.date:
        return self.period.start + dt.timedelta(days=offset)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    start = draw(st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2033, 12, 1)))
    months = draw(st.sampled_from(MONTHS))
    currency = draw(st.sampled_from(CURRENCIES))
    places = currency.decimals + draw(st.integers(0, 3))
    price = draw(st.decimals(min_value=0, max_value=5000, places=places))
    return World(BillingPeriod(start, add_months(start, months)), currency, price)


@given(world=worlds())
def test_a_seat_held_for_each_day_of_the_period_sums_to_the_full_price(world: World) -> None:
    """One seat sold on each day (a Sales Order) and taken away the next (a Change to 0).

    Autotask bills a seat sold on the period start in the period's recurring line, every later
    change as a prorated line: each day costs the price per day to within the currency's
    smallest unit, and the days together cost the full price to the smallest unit.
    """
    days, unit = world.period.days, Fraction(world.currency.unit)
    total = Decimal(0)
    for offset in range(days):
        sold = world.plan(OrderType.SALES, on=world.day(offset), change=1, total=1)
        charged = sold.prorated_amount
        if offset == 0:
            assert charged == 0
            charged = sold.recurring_amount_after - sold.recurring_amount_before
        credited = Decimal(0)
        if offset + 1 < days:
            removed = world.plan(
                OrderType.CHANGE, on=world.day(offset + 1), change=-1, total=0, held=1
            )
            assert [a.action for a in removed.actions] == [Action.UPDATE]
            credited = removed.prorated_amount
        assert abs(Fraction(charged + credited) - Fraction(world.price) / days) <= unit
        total += charged + credited
    assert total == round_half_up(world.price, world.currency.decimals)
    assert abs(Fraction(total) - Fraction(world.price)) <= unit / 2


@given(world=worlds(), data=st.data())
def test_autotask_bills_what_connectwise_plans_for_a_mid_period_change(
    world: World, data: st.DataObject
) -> None:
    """The same seed formula: off the period start the preview's amount is the ConnectWise
    prorate line's, a credit exactly minus the matching charge."""
    k = data.draw(st.integers(1, 50), label="k")
    on = world.day(data.draw(st.integers(1, world.period.days - 1), label="offset"))
    for sign in (1, -1):
        autotask = world.plan(
            OrderType.CHANGE, on=on, change=sign * k, total=50 + sign * k, held=50
        )
        connectwise = world.plan(
            OrderType.CHANGE,
            on=on,
            change=sign * k,
            total=50 + sign * k,
            held=50,
            psa=PsaStyle.CONNECTWISE,
        )
        assert [a.action for a in autotask.actions] == [Action.UPDATE]
        assert autotask.prorated_amount == connectwise.prorated_amount
        assert autotask.recurring_amount_after == connectwise.recurring_amount_after
    up = world.plan(OrderType.CHANGE, on=on, change=k, total=50 + k, held=50)
    down = world.plan(OrderType.CHANGE, on=on, change=-k, total=50 - k, held=50)
    assert up.prorated_amount == -down.prorated_amount


@given(world=worlds(), data=st.data())
def test_a_sale_is_billed_for_the_days_left(world: World, data: st.DataObject) -> None:
    q = data.draw(st.integers(1, 50), label="q")
    offset = data.draw(st.integers(0, world.period.days - 1), label="offset")
    plan = world.plan(OrderType.SALES, on=world.day(offset), change=q, total=q)
    (create,) = plan.actions
    assert (create.action, create.kind, create.effective_date) == (
        Action.CREATE,
        AdditionKind.RECURRING,
        world.day(offset),
    )
    exact = Fraction(q) * Fraction(world.price) * Fraction(world.period.days - offset)
    exact /= world.period.days
    left = plan.prorated_amount
    if offset == 0:
        assert left == 0
    else:
        assert abs(Fraction(left) - exact) <= Fraction(q) * Fraction(world.currency.unit) / 2


@given(world=worlds(), data=st.data())
def test_connectwise_plans_are_unchanged_by_the_default_option(
    world: World, data: st.DataObject
) -> None:
    offset = data.draw(st.integers(0, world.period.days - 1), label="offset")
    k = data.draw(st.integers(-5, 5), label="k")
    default = world.plan(
        OrderType.CHANGE,
        on=world.day(offset),
        change=k,
        total=5 + k,
        held=5,
        psa=PsaStyle.CONNECTWISE,
    )
    assert default.psa is PsaStyle.CONNECTWISE
    prorates = [a for a in default.actions if a.kind is AdditionKind.PRORATE]
    assert default.prorated_amount == sum(
        (default.extended_price(a) for a in prorates),
        start=Decimal(0).scaleb(-world.currency.decimals),
    )
    assert len(prorates) == (1 if k else 0)
