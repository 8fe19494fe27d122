"""Billing periods: how long a subscription bills for, and which days one period covers."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from psasync.domain.errors import DomainError

ONE_DAY = dt.timedelta(days=1)


class PeriodError(DomainError):
    """A billing period or period length that cannot exist."""


class PeriodUnit(StrEnum):
    """Units of the marketplace's ``{type, duration}`` periods that psasync can bill by."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True)
class PeriodLength:
    """A billing or subscription period length, e.g. ``month/1`` or ``year/1``."""

    unit: PeriodUnit
    count: int

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise PeriodError(
                f"a period length needs a whole count of at least 1, not {self.count!r}"
            )

    @classmethod
    def from_marketplace(cls, value: Mapping[str, object]) -> PeriodLength:
        """Read the marketplace's ``{"type": "month", "duration": 1}`` structure."""
        kind, duration = value.get("type"), value.get("duration")
        try:
            unit = PeriodUnit(str(kind))
        except ValueError:
            raise PeriodError(f"period type {kind!r} is not one of day, month, year") from None
        # The spec types some durations as double (1.0); only whole ones make sense.
        if isinstance(duration, float) and duration.is_integer():
            duration = int(duration)
        if not isinstance(duration, int):
            raise PeriodError(f"period duration {duration!r} is not a whole number")
        return cls(unit=unit, count=duration)

    def after(self, anchor: dt.date, times: int) -> dt.date:
        """The date ``times`` lengths after ``anchor``; month ends are clamped (31 Jan → 28 Feb).

        Always counted from the anchor, so clamping in a short month never drifts later periods.
        """
        if self.unit is PeriodUnit.DAY:
            return anchor + dt.timedelta(days=self.count * times)
        months = self.count * times * (12 if self.unit is PeriodUnit.YEAR else 1)
        return add_months(anchor, months)

    def __str__(self) -> str:
        return f"{self.unit.value}/{self.count}"


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the last day of a shorter month."""
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    last_day = calendar.monthrange(year, month_index + 1)[1]
    return dt.date(year, month_index + 1, min(day.day, last_day))


class BillingCycle(StrEnum):
    """ConnectWise billing cycle ``billingOptions``."""

    WEEKLY = "Weekly"
    BIWEEKLY = "BiWeekly"
    MONTHLY = "Monthly"
    BIMONTHLY = "BiMonthly"
    QUARTERLY = "Quarterly"
    SEMIANNUAL = "SemiAnnual"
    YEARLY = "Yearly"
    NOT_RECURRING = "NotRecurring"


_CYCLE_OF_LENGTH = {
    PeriodLength(PeriodUnit.MONTH, 1): BillingCycle.MONTHLY,
    PeriodLength(PeriodUnit.MONTH, 3): BillingCycle.QUARTERLY,
    PeriodLength(PeriodUnit.MONTH, 6): BillingCycle.SEMIANNUAL,
    PeriodLength(PeriodUnit.YEAR, 1): BillingCycle.YEARLY,
}


def billing_cycle_for(length: PeriodLength) -> BillingCycle | None:
    """The ConnectWise billing cycle that bills a subscription of this period, if any."""
    return _CYCLE_OF_LENGTH.get(length)


@dataclass(frozen=True, order=True)
class BillingPeriod:
    """The days ``[start, end)`` of one billing period; ``end`` is the next period's start."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
                raise PeriodError(f"period {name} {value!r} must be a date")
        if self.start >= self.end:
            raise PeriodError(
                f"a billing period must end after it starts: {self.start}..{self.end}"
            )

    @classmethod
    def from_billing_dates(
        cls, last_billing_date: dt.date, next_billing_date: dt.date
    ) -> BillingPeriod:
        """The period an order's ``lastBillingDate`` and ``nextBillingDate`` delimit."""
        return cls(start=last_billing_date, end=next_billing_date)

    @classmethod
    def containing(cls, day: dt.date, *, length: PeriodLength, anchor: dt.date) -> BillingPeriod:
        """The period holding ``day`` of a subscription billed every ``length`` from ``anchor``."""
        if day < anchor:
            raise PeriodError(f"{day} is before the billing anchor {anchor}")
        index = _lower_bound_index(day, length=length, anchor=anchor)
        while length.after(anchor, index + 1) <= day:
            index += 1
        return cls(start=length.after(anchor, index), end=length.after(anchor, index + 1))

    @property
    def days(self) -> int:
        """Number of days the period bills for."""
        return (self.end - self.start).days

    @property
    def last_day(self) -> dt.date:
        """The last day inside the period (``end`` is outside it)."""
        return self.end - ONE_DAY

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    @property
    def span(self) -> str:
        """The days as a person reads them, both ends included: "2026-11-01 to 2026-11-30"."""
        return f"{self.start.isoformat()} to {self.last_day.isoformat()}"

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def _lower_bound_index(day: dt.date, *, length: PeriodLength, anchor: dt.date) -> int:
    """A period index no later than the one holding ``day`` (at most two short of it).

    Saves walking period by period from an anchor years back; the caller steps forward.
    """
    if length.unit is PeriodUnit.DAY:
        whole = (day - anchor).days // length.count
    else:
        months = (day.year - anchor.year) * 12 + day.month - anchor.month
        whole = months // (length.count * (12 if length.unit is PeriodUnit.YEAR else 1))
    return max(whole - 1, 0)
