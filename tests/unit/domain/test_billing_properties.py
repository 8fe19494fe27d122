"""Money properties of whole plans, over periods of 28 to 366 days (leap years included),
currencies with 0, 2 and 3 decimals and marketplace prices with more decimals than the currency.

Run deeper with ``HYPOTHESIS_PROFILE=thorough`` (3,000 examples each).
"""

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from itertools import count

from hypothesis import given
from hypothesis import strategies as st

from psasync.domain.agreements import Addition, CatalogItem, ProductClass
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
from psasync.domain.plan import Action, AdditionKind, Plan, PriceSource, Task, apply_actions
from psasync.domain.planner import plan_additions
from tests.unit.domain.builders import agreement

MPN = "MPN-A"
ITEM = CatalogItem(
    id=100,
    identifier="ITEM-A",
    description="Item A",
    price=Decimal("12.34"),
    cost=Decimal("9.87"),
    product_class=ProductClass.SERVICE,
)
CURRENCIES = (Currency("JPY", 0), Currency("USD", 2), Currency("KWD", 3))
LENGTHS = (
    PeriodLength(PeriodUnit.MONTH, 1),
    PeriodLength(PeriodUnit.MONTH, 3),
    PeriodLength(PeriodUnit.MONTH, 6),
    PeriodLength(PeriodUnit.YEAR, 1),
)
ids = count(1000)


@dataclass(frozen=True)
class World:
    """One agreement in one currency over one billing period, selling one product."""

    period: BillingPeriod
    currency: Currency
    price: Decimal
    cost: Decimal

    def plan(
        self,
        order_type: OrderType,
        *,
        on: dt.date,
        change: int,
        total: int,
        additions: tuple[Addition, ...] = (),
        line_type: LineType = LineType.RECURRING,
    ) -> Plan:
        """The plan of one order line of ``change`` seats (the subscription then holds
        ``total``)."""
        instant = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)
        line = OrderLine(
            number=1,
            type=line_type,
            mpn=MPN,
            description="Seats",
            quantity=Decimal(change),
            unit_price=Money(self.price, self.currency.code),
            unit_cost=Money(self.cost, self.currency.code),
        )
        order = Order(
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
            lines=(line,),
        )
        held = Subscription(
            id="S",
            customer_id="C",
            billing_period=LENGTHS[0],
            created_on=dt.date(2020, 1, 1),
            products=(SubscriptionProduct(MPN, Decimal(total)),),
        )
        return plan_additions(
            task=Task(id=next(ids), order=order, subscription=held, period=self.period),
            agreement=agreement(currency=self.currency, bill_start=None),
            additions=additions,
            catalog={MPN: ITEM},
            price_source=PriceSource.MARKETPLACE,
        )

    def seats(self, quantity: int) -> tuple[Addition, ...]:
        """An ongoing recurring addition of ``quantity`` seats at the marketplace price."""
        return (
            Addition(
                id=1,
                product=ITEM.ref,
                quantity=Decimal(quantity),
                unit_price=self.price,
                unit_cost=self.cost,
                effective_date=dt.date(2020, 1, 1),
                cancelled_date=None,
            ),
        )

    def day(self, offset: int) -> dt.date:
        return self.period.start + dt.timedelta(days=offset)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    start = draw(st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2033, 12, 1)))
    length = draw(st.sampled_from(LENGTHS))
    months = length.count * (12 if length.unit is PeriodUnit.YEAR else 1)
    currency = draw(st.sampled_from(CURRENCIES))
    # Marketplace prices may carry more decimals than the currency (30.005 USD).
    places = currency.decimals + draw(st.integers(0, 3))
    amounts = st.decimals(min_value=0, max_value=5000, places=places)
    return World(
        period=BillingPeriod(start, add_months(start, months)),
        currency=currency,
        price=draw(amounts),
        cost=draw(amounts),
    )


def prorates(plan: Plan) -> list[Decimal]:
    return [plan.extended_price(a) for a in plan.actions if a.kind is AdditionKind.PRORATE]


@given(world=worlds())
def test_a_seat_changed_on_every_day_sums_to_the_full_price(world: World) -> None:
    """One seat added on each day and removed the next day is charged the full period price.

    Every day's charge and the next day's credit are planned as real Change Orders; the period
    start is billed unrounded, so the sum is the price to the currency's smallest unit.
    """
    total = Decimal(0)
    for offset in range(world.period.days):
        charge = world.plan(
            OrderType.CHANGE, on=world.day(offset), change=1, total=6, additions=world.seats(5)
        )
        total += charge.prorated_amount
        if offset + 1 < world.period.days:
            credit = world.plan(
                OrderType.CHANGE,
                on=world.day(offset + 1),
                change=-1,
                total=5,
                additions=world.seats(6),
            )
            total += credit.prorated_amount
    assert total == round_half_up(world.price, world.currency.decimals)
    assert abs(Fraction(total) - Fraction(world.price)) <= Fraction(world.currency.unit) / 2


@given(world=worlds(), data=st.data())
def test_a_downgrade_and_an_upgrade_of_k_on_one_day_cancel_out(
    world: World, data: st.DataObject
) -> None:
    held = data.draw(st.integers(1, 50), label="held")
    k = data.draw(st.integers(1, held), label="k")
    on = world.day(data.draw(st.integers(0, world.period.days - 1), label="offset"))
    before = world.seats(held)
    down = world.plan(OrderType.CHANGE, on=on, change=-k, total=held - k, additions=before)
    between = tuple(
        replace(a, id=next(ids)) if a.id == 0 else a for a in apply_actions(before, down.actions)
    )
    up = world.plan(OrderType.CHANGE, on=on, change=k, total=held, additions=between)
    assert down.prorated_amount + up.prorated_amount == 0
    assert up.recurring_amount_after == down.recurring_amount_before


@given(world=worlds(), data=st.data())
def test_a_credit_is_exactly_minus_the_matching_charge(world: World, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, 50), label="k")
    on = world.day(data.draw(st.integers(0, world.period.days - 1), label="offset"))
    charge = world.plan(OrderType.CHANGE, on=on, change=k, total=50 + k, additions=world.seats(50))
    credit = world.plan(OrderType.CHANGE, on=on, change=-k, total=50 - k, additions=world.seats(50))
    (charged,) = (a for a in charge.actions if a.kind is AdditionKind.PRORATE)
    (credited,) = (a for a in credit.actions if a.kind is AdditionKind.PRORATE)
    assert (credited.unit_price, credited.unit_cost) == (charged.unit_price, charged.unit_cost)
    assert prorates(credit) == [-amount for amount in prorates(charge)]
    assert credit.prorated_amount == -charge.prorated_amount


ORDER_LINES = {
    OrderType.SALES: (LineType.RECURRING, LineType.SETUP),
    OrderType.CHANGE: (LineType.RECURRING, LineType.SETUP),
    OrderType.BILLING: (LineType.OVERUSE,),
}


@given(world=worlds(), data=st.data())
def test_on_the_period_start_no_price_is_rounded(world: World, data: st.DataObject) -> None:
    order_type = data.draw(st.sampled_from(list(ORDER_LINES)), label="order type")
    line_type = data.draw(st.sampled_from(ORDER_LINES[order_type]), label="line type")
    change = data.draw(st.integers(-5, 5) if order_type is OrderType.CHANGE else st.integers(1, 5))
    plan = world.plan(
        order_type,
        on=world.period.start,
        change=change,
        total=10,
        additions=world.seats(10 - change),
        line_type=line_type,
    )
    created = [a for a in plan.actions if a.action is Action.CREATE]
    for action in created:
        assert str(action.unit_price) == str(world.price)
        assert str(action.unit_cost) == str(world.cost)


@given(world=worlds(), k=st.integers(1, 50))
def test_k_seats_added_on_the_period_start_bill_what_the_next_period_bills(
    world: World, k: int
) -> None:
    """Issue 13's case: 2 × 30.005 is 60.01 this period as in the next, not 2 × 30.01."""
    plan = world.plan(
        OrderType.CHANGE, on=world.period.start, change=k, total=5 + k, additions=world.seats(5)
    )
    (recurring,) = (
        a for a in plan.actions if a.action is Action.CREATE and a.kind.value == "recurring"
    )
    this_period = plan.recurring_amount_before + plan.prorated_amount
    next_period = plan.recurring_amount_after
    assert next_period == round_half_up(
        Fraction(5 + k) * Fraction(world.price), world.currency.decimals
    )
    assert abs(this_period - next_period) <= world.currency.unit
    assert plan.prorated_amount == round_half_up(k * Fraction(world.price), world.currency.decimals)
    assert recurring.unit_price == world.price
