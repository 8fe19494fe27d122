"""Marketplace JSON → domain: what is read, what is skipped, and why."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from psasync.adapters.marketplace import SkipKind
from psasync.adapters.marketplace.mapping import (
    Unreadable,
    map_order,
    product,
    read_each,
    reseller,
    subscription,
)
from psasync.domain.billing import PeriodLength, PeriodUnit
from psasync.domain.money import Money
from psasync.domain.orders import LineType, OrderStatus, OrderType


def decoded(value: Any) -> Any:
    """As the client decodes answers: fractions become Decimal, never float."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def line(**changes: Any) -> dict[str, Any]:
    return {
        "type": "recurring",
        "mpn": "M365-BS",
        "description": "Microsoft 365",
        "quantity": 2,
        "unitPrice": {"currency": "USD", "amount": "12.50"},
        **changes,
    }


def order(**changes: Any) -> Any:
    return decoded(
        {
            "id": "5000417",
            "orderNumber": "CH0000417",
            "type": "change",
            "customerId": "1000048531",
            "subscriptionId": "7000101",
            "status": "completed",
            "creationDate": "2026-11-11T09:30:00Z",
            "provisioningDate": "2026-11-11T09:31:00Z",
            "lastBillingDate": "2026-11-01",
            "nextBillingDate": "2026-12-01",
            "details": [line()],
            "someFutureField": {"ignored": True},
            **changes,
        }
    )


def test_an_order_maps_to_the_domain_order() -> None:
    mapped, skipped = map_order(order())
    assert skipped == [] and mapped is not None
    assert (mapped.id, mapped.number, mapped.type, mapped.status) == (
        "5000417",
        "CH0000417",
        OrderType.CHANGE,
        OrderStatus.COMPLETED,
    )
    assert mapped.created_at == dt.datetime(2026, 11, 11, 9, 30, tzinfo=dt.UTC)
    assert mapped.effective_date == dt.date(2026, 11, 11)
    assert mapped.lines[0].unit_price == Money(Decimal("12.50"), "USD")
    assert mapped.lines[0].unit_cost is None, "the spec's OrderDetail has no unitCost"


def test_instants_become_utc_and_naive_ones_are_read_as_utc() -> None:
    mapped, _ = map_order(order(creationDate="2026-11-11T23:30:00-05:00"))
    assert mapped is not None and mapped.created_at == dt.datetime(
        2026, 11, 12, 4, 30, tzinfo=dt.UTC
    )
    naive, _ = map_order(order(creationDate="2026-11-11T09:30:00", provisioningDate=None))
    assert naive is not None and naive.created_at.tzinfo is dt.UTC


@pytest.mark.parametrize("kind", ["migration", "unknown", "transfer"])
def test_order_types_psasync_does_not_sync_are_skipped(kind: str) -> None:
    mapped, skipped = map_order(order(type=kind))
    assert mapped is None
    assert [(s.kind, s.id, s.reason) for s in skipped] == [
        (SkipKind.ORDER, "5000417", f"order type {kind!r} is not one psasync syncs")
    ]


def test_billing_orders_are_read() -> None:
    mapped, _ = map_order(order(type="billing", details=[line(type="overuse", quantity=12.25)]))
    assert mapped is not None and mapped.type is OrderType.BILLING
    assert mapped.lines[0].quantity == Decimal("12.25")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"status": "archived"}, "order status 'archived' is not a known one"),
        ({"creationDate": None}, "creationDate"),
        ({"customerId": None}, "customerId"),
        ({"creationDate": "last tuesday"}, "creationDate"),
    ],
)
def test_an_order_missing_what_psasync_needs_is_skipped_naming_it(
    changes: dict[str, Any], reason: str
) -> None:
    mapped, skipped = map_order(order(**changes))
    assert mapped is None and reason in skipped[0].reason


def test_lines_keep_their_positions_when_some_are_skipped() -> None:
    details = [
        line(type="discount"),
        line(quantity=3),
        line(unitPrice=None),
        line(type="setup", quantity=1, unitCost={"currency": "USD", "amount": "20"}),
        "not an object",
    ]
    mapped, skipped = map_order(order(details=details))
    assert mapped is not None
    assert [(item.number, item.type) for item in mapped.lines] == [
        (2, LineType.RECURRING),
        (4, LineType.SETUP),
    ]
    assert mapped.lines[1].unit_cost == Money(Decimal("20"), "USD")
    assert [(s.kind, s.line, s.reason) for s in skipped] == [
        (SkipKind.ORDER_LINE, 1, "line type 'discount' is not one psasync bills"),
        (SkipKind.ORDER_LINE, 3, "a recurring line needs unitPrice"),
        (SkipKind.ORDER_LINE, 5, "expected a JSON object, got str"),
    ]
    assert (
        str(skipped[0])
        == "order line 5000417 line 1: line type 'discount' is not one psasync bills"
    )


def test_a_money_amount_must_be_a_plain_decimal() -> None:
    mapped, skipped = map_order(
        order(details=[line(unitPrice={"currency": "USD", "amount": "1e3"})])
    )
    assert mapped is not None and mapped.lines == ()
    assert "not a plain decimal number" in skipped[0].reason
    exact, _ = map_order(order(details=[line(unitPrice={"currency": "usd", "amount": 12.5})]))
    assert exact is not None and exact.lines[0].unit_price == Money(Decimal("12.5"), "USD")


def test_an_order_number_falls_back_to_the_id() -> None:
    mapped, _ = map_order(order(orderNumber=None))
    assert mapped is not None and mapped.number == "5000417"


def test_a_subscription_maps_with_its_period_and_products() -> None:
    raw = decoded(
        {
            "id": "7000101",
            "customerId": "1000048531",
            "creationDate": "2026-01-01",
            "billingPeriod": {"type": "month", "duration": 1.0},
            "products": [{"mpn": "M365-BS", "quantity": 12}],
        }
    )
    mapped = subscription(raw)
    assert mapped.billing_period == PeriodLength(PeriodUnit.MONTH, 1)
    assert mapped.quantity_of("M365-BS") == Decimal(12)


@pytest.mark.parametrize(
    ("period", "reason"),
    [
        ({"type": "statement_day", "duration": 1}, "statement_day/1"),
        ({"type": "month", "duration": 1.5}, "not a whole number"),
        (None, "billingPeriod"),
    ],
)
def test_a_subscription_the_domain_cannot_bill_is_unreadable(
    period: dict[str, Any] | None, reason: str
) -> None:
    raw = decoded(
        {"id": "1", "customerId": "2", "creationDate": "2026-01-01", "billingPeriod": period}
    )
    with pytest.raises(Unreadable, match=reason):
        subscription(raw)


def test_read_each_keeps_the_readable_and_reports_the_rest() -> None:
    raws = [
        {"id": "1", "name": "Northwind IT", "currency": "USD"},
        {"id": "2"},
        {"id": 3, "name": "Numeric id"},
    ]
    items, skipped = read_each(
        raws, kind=SkipKind.RESELLER, read=lambda raw: reseller(raw, marketplace="us")
    )
    assert [(r.id, r.name, r.marketplace) for r in items] == [
        ("1", "Northwind IT", "us"),
        ("3", "Numeric id", "us"),
    ]
    assert [(s.id, s.reason) for s in skipped] == [("2", "name: Field required")]


def test_a_product_with_an_unreadable_price_is_unreadable() -> None:
    good = product({"mpn": "X", "prices": [{"type": "setup", "currency": "EUR", "amount": "5"}]})
    assert good.name == "X" and good.prices[0].money == Money(Decimal(5), "EUR")
    with pytest.raises(Unreadable, match="currency"):
        product({"mpn": "X", "prices": [{"amount": "5"}]})
