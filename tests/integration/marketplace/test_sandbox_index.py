"""The emulator's indexed lists answer exactly what filtering the whole list would."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from psasync.sandbox.fixture import parse_fixture
from psasync.sandbox.generate import generate_fixture
from psasync.sandbox.marketplace.index import Indexed, Run
from psasync.sandbox.marketplace.state import MarketplaceData

MONTH = dt.date(2026, 10, 1)


@pytest.fixture(scope="module")
def data() -> MarketplaceData:
    fixture = parse_fixture(
        generate_fixture(customers=40, subscriptions=200, orders=150, month=MONTH, seed=3)
    ).marketplace
    return MarketplaceData.of(fixture, fixture.marketplaces[0])


def within(value: dt.date, low: dt.date | None, high: dt.date | None) -> bool:
    return (low is None or low <= value) and (high is None or value <= high)


def test_orders_by_every_filter_combination(data: MarketplaceData) -> None:
    reseller = next(iter(data.resellers))
    everything = [o for o in data.orders.values() if data.owner(o.customer_id) == reseller]
    indexed = data.orders_of(reseller)
    assert list(indexed.select()) == everything
    dates = sorted({o.creation_date for o in everything})
    pick = random.Random(5)
    for _ in range(300):
        some = pick.choice(everything)
        customer = pick.choice([None, some.customer_id, "404"])
        subscription = pick.choice([None, some.subscription_id])
        number = pick.choice([None, None, some.order_number])
        status = pick.choice([None, some.status, "cancelled"])
        low = pick.choice([None, pick.choice(dates), pick.choice(dates) - dt.timedelta(seconds=1)])
        high = pick.choice([None, pick.choice(dates), pick.choice(dates) + dt.timedelta(hours=1)])
        expected = [
            o
            for o in everything
            if customer in (None, o.customer_id)
            and subscription in (None, o.subscription_id)
            and number in (None, o.order_number)
            and status in (None, o.status)
            and within(o.creation_date, low, high)
        ]
        got = indexed.select(
            {
                "customerId": customer,
                "subscriptionId": subscription,
                "orderNumber": number,
                "status": status,
            },
            low=low,
            high=high,
        )
        assert list(got) == expected
        assert len(got) == len(expected)


def test_subscriptions_by_customer_status_and_days(data: MarketplaceData) -> None:
    reseller = next(iter(data.resellers))
    everything = [s for s in data.subscriptions.values() if data.owner(s.customer_id) == reseller]
    indexed = data.subscriptions_of(reseller)
    days = sorted({s.creation_date for s in everything})
    for customer, status, low, high in itertools.product(
        [None, everything[3].customer_id],
        [None, "active", "terminated"],
        [None, days[0], days[len(days) // 2]],
        [None, days[len(days) // 3], days[-1]],
    ):
        expected = [
            s
            for s in everything
            if customer in (None, s.customer_id)
            and status in (None, s.status)
            and within(s.creation_date, low, high)
        ]
        got = indexed.select({"customerId": customer, "status": status}, low=low, high=high)
        assert list(got) == expected


def test_a_reversed_range_is_empty() -> None:
    days = [dt.date(2026, 1, d) for d in (5, 4, 3, 2, 1)]  # newest first
    indexed = Indexed(days, keys={}, created=lambda d: d)
    assert list(indexed.select(low=dt.date(2026, 1, 4), high=dt.date(2026, 1, 2))) == []
    assert list(indexed.select(low=dt.date(2026, 1, 2), high=dt.date(2026, 1, 4))) == days[1:4]


def test_a_run_is_a_view_like_a_slice() -> None:
    items = list(range(10))
    run = Run(items, 2, 7)
    assert list(run) == items[2:7]
    assert len(run) == 5
    assert run[0] == 2 and run[-1] == 6
    assert list(run[1:3]) == [3, 4]
    assert list(run[3:100]) == [5, 6]
    assert list(run[::2]) == [2, 4, 6]
    with pytest.raises(IndexError):
        run[5]
