"""Units rows split at adjustments, and what Autotask bills from them (proration pinned)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from psasync.sandbox.autotask import fixture as fx
from psasync.sandbox.autotask import units as un

D = dt.date
JAN_1 = D(2026, 1, 1)


def contract(
    period: str = "Monthly", start: str = "2026-01-01", end: str = "2026-12-31"
) -> fx.Contract:
    return fx.Contract.model_validate(
        {
            "id": 1,
            "contractName": "c",
            "companyID": 1,
            "contractPeriodType": period,
            "startDate": start,
            "endDate": end,
        }
    )


def record(
    units: int = 10, start: dt.date = JAN_1, price: str = "30.00"
) -> un.ContractServiceRecord:
    return un.ContractServiceRecord(
        id=7,
        contract_id=1,
        service_id=5,
        unit_price=Decimal(price),
        unit_cost=Decimal("24.00"),
        adjusted_price=None,
        invoice_description=None,
        internal_description=None,
        quote_item_id=None,
        start=start,
        unit_changes=[(start, units)],
        price_changes=[un.PriceChange(start, Decimal(price), Decimal("24.00"))],
    )


def test_one_row_per_period_counted_from_the_contract_start() -> None:
    rows = un.unit_rows(record(), contract(), D(2026, 1, 1))
    assert len(rows) == 12
    assert (rows[0].start, rows[0].end) == (D(2026, 1, 1), D(2026, 1, 31))
    assert (rows[1].start, rows[1].end) == (D(2026, 2, 1), D(2026, 2, 28))
    assert all(row.units == 10 and not row.posted for row in rows)


def test_a_mid_period_adjustment_splits_the_row_and_is_prorated() -> None:
    item = record()
    item.unit_changes.append((D(2026, 11, 11), 2))
    rows = [r for r in un.unit_rows(item, contract(), D(2026, 1, 1)) if r.start.month == 11]
    assert [(r.start, r.end, r.units) for r in rows] == [
        (D(2026, 11, 1), D(2026, 11, 10), 10),
        (D(2026, 11, 11), D(2026, 11, 30), 12),
    ]
    recurring, prorated = un.billing_items(rows)
    assert recurring["kind"] == "recurring" and recurring["amount"] == "300.00"
    # DESIGN §3's example: 30 days, effective the 11th, 30.00 → 20.00 per unit.
    assert prorated["kind"] == "prorated" and prorated["proratedUnitPrice"] == "20.00"
    assert prorated["unitChange"] == 2 and prorated["amount"] == "40.00"
    assert prorated["proratedUnitCost"] == "16.00" and prorated["costAmount"] == "32.00"


def test_an_adjustment_on_a_period_start_is_no_proration() -> None:
    item = record()
    item.unit_changes.append((D(2026, 11, 1), -3))
    rows = [r for r in un.unit_rows(item, contract(), D(2026, 1, 1)) if r.start.month >= 10]
    assert [(r.start, r.units) for r in rows] == [
        (D(2026, 10, 1), 10),
        (D(2026, 11, 1), 7),
        (D(2026, 12, 1), 7),
    ]
    assert [i["kind"] for i in un.billing_items(rows)] == ["recurring"] * 3
    assert un.billing_items(rows)[1]["amount"] == "210.00"


def test_a_downgrade_mid_period_is_a_credit_rounded_once_half_up() -> None:
    item = record(units=15, price="22.00")
    item.unit_changes.append((D(2026, 11, 16), -3))
    rows = [r for r in un.unit_rows(item, contract(), D(2026, 1, 1)) if r.start.month == 11]
    credit = un.billing_items(rows)[1]
    # (30 - 15) × 22.00 / 30 = 11.00 per unit, 3 units back.
    assert credit["proratedUnitPrice"] == "11.00" and credit["amount"] == "-33.00"
    assert un.prorated(Decimal("12.50"), 10, 30) == Decimal("8.33")
    assert un.prorated(Decimal("0.05"), 15, 30) == Decimal("0.03")


def test_a_service_starting_mid_period_bills_its_units_prorated() -> None:
    rows = un.unit_rows(
        record(units=5, start=D(2026, 11, 21), price="15.00"), contract(), D(2026, 1, 1)
    )
    assert (rows[0].start, rows[0].end, rows[0].units) == (D(2026, 11, 21), D(2026, 11, 30), 5)
    first = un.billing_items(rows)[0]
    assert first["kind"] == "prorated" and first["proratedUnitPrice"] == "5.00"
    assert first["amount"] == "25.00"


def test_yearly_periods_and_a_mid_term_change() -> None:
    item = record(units=20, start=D(2026, 3, 1), price="36.00")
    item.unit_changes.append((D(2026, 11, 15), 5))
    rows = un.unit_rows(item, contract("Yearly", "2026-03-01", "2029-02-28"), D(2026, 3, 1))
    assert [(r.start, r.end, r.units) for r in rows] == [
        (D(2026, 3, 1), D(2026, 11, 14), 20),
        (D(2026, 11, 15), D(2027, 2, 28), 25),
        (D(2027, 3, 1), D(2028, 2, 29), 25),
        (D(2028, 3, 1), D(2029, 2, 28), 25),
    ]
    prorated = un.billing_items(rows)[1]
    # 365-day period, 259 days in: (365 - 259) × 36 / 365 = 10.454… → 10.45.
    assert prorated["proratedUnitPrice"] == "10.45" and prorated["amount"] == "52.25"


def test_posting_covers_the_whole_period_holding_the_day() -> None:
    c = contract(start="2025-08-25", end="2027-08-24")
    assert un.posted_until(c, D(2026, 11, 24)) == D(2026, 11, 25)
    assert un.posted_until(c, D(2026, 11, 1)) == D(2026, 11, 25)
    assert un.posted_until(c, None) == c.start_date
    assert un.posted_until(c, D(2020, 1, 1)) == c.start_date
    rows = un.unit_rows(record(start=D(2025, 8, 25)), c, D(2026, 11, 25))
    posted = [r for r in rows if r.posted]
    assert posted[-1].period.start == D(2026, 10, 25)


@pytest.mark.parametrize(("period", "count"), [("Quarterly", 4), ("Semi-Annual", 2)])
def test_other_period_types(period: str, count: int) -> None:
    assert len(un.unit_rows(record(), contract(period), D(2026, 1, 1))) == count
