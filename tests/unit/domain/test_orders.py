import datetime as dt
from decimal import Decimal

import pytest

from psasync.domain.billing import BillingPeriod, PeriodError
from psasync.domain.orders import (
    LineType,
    Order,
    OrderError,
    OrderStatus,
    OrderType,
    line_type_from_marketplace,
    order_billing_period,
    order_type_from_marketplace,
    task_title,
)
from psasync.domain.plan import Task
from tests.unit.domain.builders import NOVEMBER, d, line, order, subscription, task


@pytest.mark.parametrize(
    ("marketplace", "expected"),
    [
        ("sales", OrderType.SALES),
        ("change", OrderType.CHANGE),
        ("billing", OrderType.BILLING),
        ("renewal", OrderType.RENEWAL),
        ("cancellation", OrderType.CANCELLATION),
        (" Change ", OrderType.CHANGE),
        ("migration", None),
        ("unknown", None),
        ("transfer", None),
    ],
)
def test_marketplace_order_types_map_to_task_types(
    marketplace: str, expected: OrderType | None
) -> None:
    assert order_type_from_marketplace(marketplace) is expected


@pytest.mark.parametrize(
    ("order_type", "label"),
    [
        (OrderType.SALES, "Sales Order"),
        (OrderType.CHANGE, "Change Order"),
        (OrderType.BILLING, "Billing Order"),
        (OrderType.RENEWAL, "Renewal Order"),
        (OrderType.CANCELLATION, "Cancellation Order"),
    ],
)
def test_order_types_have_labels(order_type: OrderType, label: str) -> None:
    assert order_type.label == label


def test_tasks_are_titled_by_customer_and_order_type() -> None:
    title = task_title(
        customer_name="Green Lane LLC", customer_id="1000048531", order_type=OrderType.CHANGE
    )
    assert title == "Green Lane LLC 1000048531 — Change Order"


def test_submitted_and_processing_orders_are_pending() -> None:
    pending = {status for status in OrderStatus if status.is_pending}
    assert pending == {OrderStatus.SUBMITTED, OrderStatus.PROCESSING}


@pytest.mark.parametrize(
    ("marketplace", "expected"),
    [
        ("recurring", LineType.RECURRING),
        ("setup", LineType.SETUP),
        ("overuse", LineType.OVERUSE),
        ("cancellation", LineType.CANCELLATION),
        ("discount", None),
        ("recurringRefund", None),
    ],
)
def test_marketplace_line_types_map(marketplace: str, expected: LineType | None) -> None:
    assert line_type_from_marketplace(marketplace) is expected


def test_orders_need_timezone_aware_instants() -> None:
    with pytest.raises(OrderError, match="has no timezone"):
        Order(
            id="1",
            number="SO1",
            type=OrderType.SALES,
            status=OrderStatus.COMPLETED,
            customer_id="1",
            subscription_id=None,
            created_at=dt.datetime(2026, 11, 1, 12, 0),  # noqa: DTZ001 - the point of the test
        )


def test_order_line_numbers_are_unique() -> None:
    with pytest.raises(OrderError, match=r"line numbers repeat: \[1, 1\]"):
        order(lines=(line(1), line(1)))


def test_an_order_takes_effect_on_its_utc_provisioning_day() -> None:
    late_evening_in_new_york = dt.datetime(
        2026, 11, 10, 21, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))
    )
    placed = Order(
        id="1",
        number="CH1",
        type=OrderType.CHANGE,
        status=OrderStatus.COMPLETED,
        customer_id="1",
        subscription_id="S",
        created_at=dt.datetime(2026, 11, 9, tzinfo=dt.UTC),
        provisioned_at=late_evening_in_new_york,
    )
    assert placed.effective_date == d("2026-11-11")


def test_an_unprovisioned_order_takes_effect_when_created() -> None:
    created = dt.datetime(2026, 11, 9, 8, 0, tzinfo=dt.UTC)
    placed = Order(
        id="1",
        number="SO1",
        type=OrderType.SALES,
        status=OrderStatus.PROCESSING,
        customer_id="1",
        subscription_id=None,
        created_at=created,
    )
    assert placed.effective_date == d("2026-11-09")


def test_the_period_comes_from_the_order_billing_dates() -> None:
    assert order_billing_period(order(), None) == NOVEMBER


def test_without_billing_dates_the_subscription_period_is_anchored_on_its_creation() -> None:
    placed = order(on="2026-11-20", period=None)
    period = order_billing_period(placed, subscription(created="2026-03-15"))
    assert period == BillingPeriod(d("2026-11-15"), d("2026-12-15"))


def test_without_billing_dates_or_subscription_there_is_no_period() -> None:
    with pytest.raises(OrderError, match="SO000012 has no billing dates and no subscription"):
        order_billing_period(order(period=None), None)


def test_an_order_before_its_subscription_was_created_has_no_period() -> None:
    with pytest.raises(PeriodError, match="before the billing anchor"):
        Task.from_order(
            task_id=1,
            order=order(on="2026-01-01", period=None),
            subscription=subscription(created="2026-02-01"),
        )


def test_subscriptions_know_their_current_quantities() -> None:
    held = subscription(("A", "7"), ("B", "2"))
    assert held.quantity_of("A") == Decimal(7)
    assert held.quantity_of("C") is None


def test_a_task_changes_billing_when_its_order_takes_effect() -> None:
    change = task(order(OrderType.CHANGE, on="2026-11-11"))
    assert change.change_date == d("2026-11-11")
    assert change.period == NOVEMBER


def test_a_usage_task_changes_billing_from_its_usage_period_start() -> None:
    usage = task(order(OrderType.BILLING, on="2026-12-02"))
    assert usage.change_date == NOVEMBER.start
