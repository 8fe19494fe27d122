import datetime as dt

import pytest

from psasync.domain.billing import (
    BillingCycle,
    BillingPeriod,
    PeriodError,
    PeriodLength,
    PeriodUnit,
    add_months,
    billing_cycle_for,
)
from tests.unit.domain.builders import d


def test_marketplace_period_lengths_are_read() -> None:
    assert PeriodLength.from_marketplace({"type": "month", "duration": 1}) == PeriodLength(
        PeriodUnit.MONTH, 1
    )
    # The spec types order-line durations as double.
    assert PeriodLength.from_marketplace({"type": "year", "duration": 1.0}) == PeriodLength(
        PeriodUnit.YEAR, 1
    )
    assert str(PeriodLength(PeriodUnit.MONTH, 3)) == "month/3"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"type": "statement_day", "duration": 1}, "not one of day, month, year"),
        ({"type": None, "duration": 1}, "not one of day, month, year"),
        ({"type": "month", "duration": 1.5}, "not a whole number"),
        ({"type": "month", "duration": "1"}, "not a whole number"),
        ({"type": "month"}, "not a whole number"),
        ({"type": "month", "duration": 0}, "at least 1"),
        ({"type": "month", "duration": True}, "at least 1"),
    ],
)
def test_unusable_period_lengths_are_refused(value: dict[str, object], message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        PeriodLength.from_marketplace(value)


@pytest.mark.parametrize(
    ("length", "cycle"),
    [
        (PeriodLength(PeriodUnit.MONTH, 1), BillingCycle.MONTHLY),
        (PeriodLength(PeriodUnit.MONTH, 3), BillingCycle.QUARTERLY),
        (PeriodLength(PeriodUnit.MONTH, 6), BillingCycle.SEMIANNUAL),
        (PeriodLength(PeriodUnit.YEAR, 1), BillingCycle.YEARLY),
        (PeriodLength(PeriodUnit.MONTH, 2), None),
        (PeriodLength(PeriodUnit.MONTH, 12), None),
        (PeriodLength(PeriodUnit.YEAR, 3), None),
        (PeriodLength(PeriodUnit.DAY, 30), None),
    ],
)
def test_billing_periods_map_to_connectwise_cycles(
    length: PeriodLength, cycle: BillingCycle | None
) -> None:
    assert billing_cycle_for(length) is cycle


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        ("2026-01-31", 1, "2026-02-28"),
        ("2028-01-31", 1, "2028-02-29"),
        ("2026-01-31", 2, "2026-03-31"),
        ("2026-11-15", 2, "2027-01-15"),
        ("2026-03-31", -1, "2026-02-28"),
        ("2024-02-29", 12, "2025-02-28"),
    ],
)
def test_months_are_added_with_month_end_clamping(day: str, months: int, expected: str) -> None:
    assert add_months(d(day), months) == d(expected)


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("2026-11-01", "2026-12-01", 30),
        ("2026-12-01", "2027-01-01", 31),
        ("2026-02-01", "2026-03-01", 28),
        ("2028-02-01", "2028-03-01", 29),
        ("2026-01-01", "2027-01-01", 365),
        ("2028-01-01", "2029-01-01", 366),
        ("2026-01-01", "2026-04-01", 90),
        ("2026-07-01", "2026-10-01", 92),
    ],
)
def test_period_days_count_start_inclusive_end_exclusive(start: str, end: str, days: int) -> None:
    period = BillingPeriod.from_billing_dates(d(start), d(end))
    assert period.days == days
    assert period.last_day == d(end) - dt.timedelta(days=1)
    assert period.contains(d(start)) and period.contains(period.last_day)
    assert not period.contains(d(end))
    assert not period.contains(d(start) - dt.timedelta(days=1))
    assert str(period) == f"{start}..{end}"
    assert period.span == f"{start} to {period.last_day.isoformat()}"


def test_a_period_must_end_after_it_starts() -> None:
    with pytest.raises(PeriodError, match="end after it starts: 2026-11-01..2026-11-01"):
        BillingPeriod(d("2026-11-01"), d("2026-11-01"))
    with pytest.raises(PeriodError, match="end after it starts"):
        BillingPeriod(d("2026-12-01"), d("2026-11-01"))


def test_a_period_is_made_of_dates_not_instants() -> None:
    with pytest.raises(PeriodError, match="start .* must be a date"):
        BillingPeriod(dt.datetime(2026, 11, 1, tzinfo=dt.UTC), d("2026-12-01"))
    with pytest.raises(PeriodError, match="end .* must be a date"):
        BillingPeriod(d("2026-11-01"), "2026-12-01")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("length", "anchor", "day", "start", "end"),
    [
        (PeriodLength(PeriodUnit.MONTH, 1), "2026-01-15", "2026-11-20", "2026-11-15", "2026-12-15"),
        (PeriodLength(PeriodUnit.MONTH, 1), "2026-01-15", "2026-11-14", "2026-10-15", "2026-11-15"),
        (PeriodLength(PeriodUnit.MONTH, 1), "2026-01-15", "2026-01-15", "2026-01-15", "2026-02-15"),
        # Anchored on the 31st: clamped in short months, back to the 31st after them.
        (PeriodLength(PeriodUnit.MONTH, 1), "2026-01-31", "2026-02-28", "2026-02-28", "2026-03-31"),
        (PeriodLength(PeriodUnit.MONTH, 1), "2026-01-31", "2026-03-30", "2026-02-28", "2026-03-31"),
        (PeriodLength(PeriodUnit.MONTH, 1), "2026-01-31", "2026-04-30", "2026-04-30", "2026-05-31"),
        (PeriodLength(PeriodUnit.MONTH, 3), "2026-02-10", "2026-11-24", "2026-11-10", "2027-02-10"),
        (PeriodLength(PeriodUnit.YEAR, 1), "2024-02-29", "2025-03-01", "2025-02-28", "2026-02-28"),
        (PeriodLength(PeriodUnit.YEAR, 1), "2024-02-29", "2028-02-29", "2028-02-29", "2029-02-28"),
        (PeriodLength(PeriodUnit.DAY, 14), "2026-11-01", "2026-11-29", "2026-11-29", "2026-12-13"),
        (PeriodLength(PeriodUnit.DAY, 14), "2026-11-01", "2026-11-28", "2026-11-15", "2026-11-29"),
    ],
)
def test_the_period_holding_a_day_is_found_from_the_anchor(
    length: PeriodLength, anchor: str, day: str, start: str, end: str
) -> None:
    period = BillingPeriod.containing(d(day), length=length, anchor=d(anchor))
    assert period == BillingPeriod(d(start), d(end))


def test_no_period_holds_a_day_before_the_anchor() -> None:
    with pytest.raises(PeriodError, match="2026-01-01 is before the billing anchor 2026-01-15"):
        BillingPeriod.containing(
            d("2026-01-01"), length=PeriodLength(PeriodUnit.MONTH, 1), anchor=d("2026-01-15")
        )
