"""Snapshots: orders, subscriptions and planned actions written as JSON read back equal."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psasync.domain.agreements import BillCustomer, ProductRef
from psasync.domain.billing import PeriodLength, PeriodUnit
from psasync.domain.money import Money
from psasync.domain.orders import (
    LineType,
    Order,
    OrderLine,
    OrderStatus,
    OrderType,
    Subscription,
    SubscriptionProduct,
)
from psasync.domain.plan import Action, AdditionKind, PlannedAddition, PriceOrigin, PriceSource
from psasync.store import snapshots
from tests.unit.domain.builders import (
    BACKUP,
    NOVEMBER,
    addition,
    line,
    order,
    plan_for,
    subscription,
)

decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None)
amounts = st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False)
currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD"])
money = st.builds(Money, amounts, currencies)
names = st.text(max_size=40)
days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
# Hypothesis wants naive bounds and adds the offsets itself.
instants = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=offsets,
)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    numbers = draw(st.lists(st.integers(1, 99), unique=True, max_size=5))
    lines = tuple(
        OrderLine(
            number=number,
            type=draw(st.sampled_from(LineType)),
            mpn=draw(names),
            description=draw(names),
            quantity=draw(decimals),
            unit_price=draw(money),
            unit_cost=draw(st.none() | money),
        )
        for number in numbers
    )
    return Order(
        id=draw(names),
        number=draw(names),
        type=draw(st.sampled_from(OrderType)),
        status=draw(st.sampled_from(OrderStatus)),
        customer_id=draw(names),
        subscription_id=draw(st.none() | names),
        created_at=draw(instants),
        provisioned_at=draw(st.none() | instants),
        last_billing_date=draw(st.none() | days),
        next_billing_date=draw(st.none() | days),
        lines=lines,
    )


planned_additions = st.builds(
    PlannedAddition,
    action=st.sampled_from(Action),
    kind=st.sampled_from(AdditionKind),
    key=names,
    line=st.integers(0, 999),
    product=st.builds(ProductRef, id=st.integers(1, 2**31 - 1), identifier=names),
    mpn=names,
    description=names,
    quantity=decimals,
    unit_price=amounts,
    unit_cost=amounts,
    effective_date=days,
    cancelled_date=st.none() | days,
    bill_customer=st.sampled_from(BillCustomer),
    taxable=st.booleans(),
    price_source=st.sampled_from(PriceSource),
    addition_id=st.none() | st.integers(1, 2**31 - 1),
    price_origin=st.sampled_from(PriceOrigin),
)

subscriptions = st.builds(
    Subscription,
    id=names,
    customer_id=names,
    billing_period=st.builds(PeriodLength, st.sampled_from(PeriodUnit), st.integers(1, 36)),
    created_on=days,
    products=st.lists(st.builds(SubscriptionProduct, mpn=names, quantity=decimals)).map(tuple),
)


@given(orders())
def test_an_order_round_trips(placed: Order) -> None:
    text = snapshots.order_to_json(placed)
    read = snapshots.order_from_json(text)
    assert read == placed
    # Equal is not enough for money: 30.00 must stay 30.00, and the offset must stay the same.
    assert snapshots.order_to_json(read) == text
    assert read.created_at.utcoffset() == placed.created_at.utcoffset()


@given(subscriptions)
def test_a_subscription_round_trips(held: Subscription) -> None:
    text = snapshots.subscription_to_json(held)
    read = snapshots.subscription_from_json(text)
    assert read == held
    assert snapshots.subscription_to_json(read) == text


@given(st.lists(planned_additions, max_size=6).map(tuple))
def test_planned_actions_round_trip(actions: tuple[PlannedAddition, ...]) -> None:
    text = snapshots.actions_to_json(actions)
    read = snapshots.actions_from_json(text)
    assert read == actions
    assert snapshots.actions_to_json(read) == text


def test_a_real_plan_round_trips() -> None:
    placed = order(lines=(line(quantity="5"), line(2, type=LineType.SETUP, mpn=BACKUP)))
    plan = plan_for(placed, held=subscription(("MS-365-E3", "5")))
    assert plan.actions, "the builder's plan should have actions to store"
    assert snapshots.actions_from_json(snapshots.actions_to_json(plan.actions)) == plan.actions


def test_money_is_written_as_exact_text() -> None:
    placed = order(lines=(line(price="30.10", cost="0.1000000000000000000000000001"),))
    data = json.loads(snapshots.order_to_json(placed))
    assert data["lines"][0]["unitPrice"] == {"amount": "30.10", "currency": "USD"}
    assert data["lines"][0]["unitCost"]["amount"] == "0.1000000000000000000000000001"
    assert data["lastBillingDate"] == NOVEMBER.start.isoformat()
    read = snapshots.order_from_json(snapshots.order_to_json(placed))
    assert read.lines[0].unit_cost == Money(Decimal("0.1000000000000000000000000001"), "USD")


def test_a_snapshot_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValueError, match="not a JSON object"):
        snapshots.order_from_json("[1, 2]")


def test_a_delete_and_price_origins_are_kept() -> None:
    placed = order(OrderType.CANCELLATION, lines=(line(type=LineType.CANCELLATION),))
    plan = plan_for(placed, [addition(id=3002, effective="2026-12-01")])
    (delete,) = plan.actions
    assert delete.action is Action.DELETE
    text = snapshots.actions_to_json(plan.actions)
    assert json.loads(text)["actions"][0]["priceOrigin"] == "existingAddition"
    assert snapshots.actions_from_json(text) == plan.actions


@pytest.mark.parametrize(
    ("action", "source", "origin"),
    [
        ("create", "marketplace", PriceOrigin.MARKETPLACE),
        ("create", "connectwise", PriceOrigin.CATALOG),
        ("cancel", "marketplace", PriceOrigin.EXISTING_ADDITION),
        ("update", "connectwise", PriceOrigin.EXISTING_ADDITION),
    ],
)
def test_a_journal_written_before_price_origins_still_loads(
    action: str, source: str, origin: PriceOrigin
) -> None:
    placed = order(lines=(line(quantity="5"),))
    stored = json.loads(snapshots.actions_to_json(plan_for(placed).actions))
    for item in stored["actions"]:
        del item["priceOrigin"]
        item["action"], item["priceSource"] = action, source
    (read, _) = snapshots.actions_from_json(json.dumps(stored))
    assert read.price_origin is origin
