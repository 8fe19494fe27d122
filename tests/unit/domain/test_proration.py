import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psasync.domain.billing import BillingPeriod
from psasync.domain.money import round_half_up
from psasync.domain.proration import EffectiveDateOutsidePeriod, prorated_unit_amount
from tests.unit.domain.builders import d


def prorate(price: str, start: str, end: str, effective: str, decimals: int = 2) -> Decimal:
    return prorated_unit_amount(
        Decimal(price),
        period=BillingPeriod(d(start), d(end)),
        effective_date=d(effective),
        decimals=decimals,
    )


@pytest.mark.parametrize(
    ("price", "start", "end", "effective", "expected"),
    [
        # DESIGN.md's example: 30-day period, effective on day 11 → 20 of 30 days.
        ("30.00", "2026-11-01", "2026-12-01", "2026-11-11", "20.00"),
        # 31-day month: 21/31 of 31.00.
        ("31.00", "2026-12-01", "2027-01-01", "2026-12-11", "21.00"),
        ("10.00", "2026-12-01", "2027-01-01", "2026-12-11", "6.77"),  # 6.7741…
        # February: 28 and 29 days.
        ("28.00", "2026-02-01", "2026-03-01", "2026-02-15", "14.00"),
        ("29.00", "2028-02-01", "2028-03-01", "2028-02-15", "15.00"),
        ("10.00", "2028-02-01", "2028-03-01", "2028-02-15", "5.17"),  # 15/29 = 5.1724…
        # A year of 365 and of 366 days.
        ("365.00", "2026-01-01", "2027-01-01", "2026-07-01", "184.00"),
        ("366.00", "2028-01-01", "2029-01-01", "2028-07-01", "184.00"),
        ("100.00", "2028-01-01", "2029-01-01", "2028-12-31", "0.27"),  # 1/366 = 0.2732…
        # A quarter (92 days Oct–Dec).
        ("92.00", "2026-10-01", "2027-01-01", "2026-11-24", "38.00"),
        # Effective on the first day bills the whole period; on the last day, one day.
        ("30.00", "2026-11-01", "2026-12-01", "2026-11-01", "30.00"),
        ("30.00", "2026-11-01", "2026-12-01", "2026-11-30", "1.00"),
        # Half a cent rounds up: 15 of 30 days of 0.01 is 0.005.
        ("0.01", "2026-11-01", "2026-12-01", "2026-11-16", "0.01"),
        # Just below half a cent rounds down: 29 of 30 days of 0.005 is 0.004833….
        ("0.005", "2026-11-01", "2026-12-01", "2026-11-02", "0.00"),
        # A credit rounds half away from zero, like a charge.
        ("-0.01", "2026-11-01", "2026-12-01", "2026-11-16", "-0.01"),
    ],
)
def test_worked_examples(price: str, start: str, end: str, effective: str, expected: str) -> None:
    amount = prorate(price, start, end, effective)
    assert amount == Decimal(expected)
    assert str(amount) == expected


def test_zero_decimal_currencies_round_to_whole_units() -> None:
    # 20/30 × 1000 JPY = 666.67 → 667
    assert prorate("1000", "2026-11-01", "2026-12-01", "2026-11-11", decimals=0) == Decimal(667)
    # 15/30 × 5 = 2.5 → 3 (half up)
    assert prorate("5", "2026-11-01", "2026-12-01", "2026-11-16", decimals=0) == Decimal(3)


def test_three_decimal_currencies_keep_three() -> None:
    assert prorate("10.000", "2026-11-01", "2026-12-01", "2026-11-02", decimals=3) == Decimal(
        "9.667"
    )


@pytest.mark.parametrize("effective", ["2026-10-31", "2026-12-01", "2027-03-01"])
def test_an_effective_date_outside_the_period_is_an_error_naming_both(effective: str) -> None:
    with pytest.raises(EffectiveDateOutsidePeriod) as raised:
        prorate("30.00", "2026-11-01", "2026-12-01", effective)
    message = str(raised.value)
    assert effective in message
    assert "2026-11-01" in message and "2026-11-30" in message
    assert isinstance(raised.value, ValueError)


# --- properties -------------------------------------------------------------------------------

prices = st.decimals(min_value=0, max_value=100_000, places=4, allow_nan=False)
decimal_places = st.integers(min_value=0, max_value=4)


@st.composite
def periods(draw: st.DrawFn) -> BillingPeriod:
    start = draw(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 1, 1)))
    days = draw(st.integers(min_value=1, max_value=400))
    return BillingPeriod(start, start + dt.timedelta(days=days))


@st.composite
def periods_with_day(draw: st.DrawFn) -> tuple[BillingPeriod, dt.date]:
    period = draw(periods())
    offset = draw(st.integers(min_value=0, max_value=period.days - 1))
    return period, period.start + dt.timedelta(days=offset)


@given(price=prices, period_day=periods_with_day(), decimals=decimal_places)
def test_prorated_never_exceeds_the_full_price(
    price: Decimal, period_day: tuple[BillingPeriod, dt.date], decimals: int
) -> None:
    period, day = period_day
    amount = prorated_unit_amount(price, period=period, effective_date=day, decimals=decimals)
    full = price if day == period.start else round_half_up(price, decimals)
    assert Decimal(0) <= amount <= full


@given(price=prices, period=periods(), decimals=decimal_places)
def test_effective_at_period_start_is_the_full_price(
    price: Decimal, period: BillingPeriod, decimals: int
) -> None:
    """On the period start nothing is prorated, so nothing is rounded: 30.005 stays 30.005."""
    amount = prorated_unit_amount(
        price, period=period, effective_date=period.start, decimals=decimals
    )
    assert str(amount) == str(price)


def test_the_period_start_keeps_more_decimals_than_the_currency() -> None:
    assert str(prorate("30.005", "2026-11-01", "2026-12-01", "2026-11-01")) == "30.005"
    assert str(prorate("30.005", "2026-11-01", "2026-12-01", "2026-11-02")) == "29.00"


@given(price=prices, period_day=periods_with_day())
def test_a_later_effective_date_never_costs_more(
    price: Decimal, period_day: tuple[BillingPeriod, dt.date]
) -> None:
    period, day = period_day
    later = min(day + dt.timedelta(days=1), period.last_day)

    def rounded(effective: dt.date) -> Decimal:
        # The period start bills the price exactly, unrounded: compare it rounded, like the rest.
        return round_half_up(
            prorated_unit_amount(price, period=period, effective_date=effective), 2
        )

    assert rounded(later) <= rounded(day)


@given(
    price=prices,
    period=periods(),
    cuts=st.lists(st.integers(min_value=1, max_value=399), max_size=12),
    decimals=decimal_places,
)
def test_a_split_of_the_period_never_drifts_more_than_a_unit_per_line(
    price: Decimal, period: BillingPeriod, cuts: list[int], decimals: int
) -> None:
    """Bill the period in consecutive segments, each line = prorated(from) − prorated(to).

    The lines add up to the full price exactly (the period start is not rounded), and each line
    is within one rounding unit of its exact share of the price.
    """
    bounds = sorted({0, period.days, *(c for c in cuts if c < period.days)})
    unit = Fraction(1, 10**decimals)

    def remaining(offset: int) -> Decimal:
        if offset == period.days:
            return Decimal(0)
        return prorated_unit_amount(
            price,
            period=period,
            effective_date=period.start + dt.timedelta(days=offset),
            decimals=decimals,
        )

    lines = [remaining(a) - remaining(b) for a, b in zip(bounds, bounds[1:], strict=False)]
    assert sum(lines, Decimal(0)) == price
    for (a, b), amount in zip(zip(bounds, bounds[1:], strict=False), lines, strict=True):
        exact = Fraction(b - a, period.days) * Fraction(price)
        assert abs(Fraction(amount) - exact) <= unit


@given(price=prices, period=periods())
def test_day_by_day_lines_sum_to_within_half_a_unit_per_line(
    price: Decimal, period: BillingPeriod
) -> None:
    """Charging one day at a time (each a one-day prorate) drifts at most ½ cent per line."""
    one_day = prorated_unit_amount(price, period=period, effective_date=period.last_day)
    total = one_day * period.days
    assert abs(total - price) <= Decimal("0.005") * period.days
