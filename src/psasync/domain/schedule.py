"""When a tenant's unattended run is due (DESIGN §8): every 15 minutes, hourly, or daily at a
local time, in the tenant's time zone, across daylight-saving changes.

Time is cut into **slots**: every 15 minutes the slots start at each local quarter hour, hourly
at each local full hour, daily at the local ``at`` time. A slot runs once. Slot boundaries are
the instants whose local wall-clock time is a boundary: a 15-minute or hourly schedule keeps
running through the repeated hour of an autumn change (both occurrences count), and a daily
run whose time does not exist on a spring-forward day runs just after the gap (02:30 → 03:30),
while on an autumn day with the time twice it runs at the first one only.

    >>> slot = slot_of(Schedule(Every.DAY, at=dt.time(6, 0), timezone="Europe/Berlin"), now)
    >>> slot.start <= now < slot.next
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from dataclasses import dataclass
from enum import StrEnum

from psasync.domain.errors import DomainError

_AT = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
# Candidate boundaries are looked for this many steps either side of an instant: more than any
# daylight-saving jump (the largest, Antarctica/Troll's, is two hours).
_WINDOW = {"15m": 16, "1h": 5, "1d": 3}


class ScheduleError(DomainError):
    """A schedule that cannot be used; the message says why."""


class Every(StrEnum):
    QUARTER_HOUR = "15m"
    HOUR = "1h"
    DAY = "1d"

    @property
    def label(self) -> str:
        return {"15m": "every 15 minutes", "1h": "every hour", "1d": "every day"}[self.value]


@functools.cache
def known_timezones() -> frozenset[str]:
    """The IANA time zone names this machine knows."""
    return frozenset(zoneinfo.available_timezones())


def parse_timezone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name`` (``Europe/Berlin``, ``UTC``); :class:`ScheduleError` otherwise."""
    if name not in known_timezones():
        raise ScheduleError(
            f"{name[:64]!r} is not a known time zone: use an IANA name such as "
            "Europe/Berlin, America/New_York or UTC"
        )
    return zoneinfo.ZoneInfo(name)


def parse_at(text: str) -> dt.time:
    """``"06:30"`` → 06:30; anything but a 24-hour ``HH:MM`` is a :class:`ScheduleError`."""
    found = _AT.fullmatch(text)
    if found is None:
        raise ScheduleError(f"{text[:20]!r} is not a time of day as HH:MM (00:00 to 23:59)")
    return dt.time(int(found[1]), int(found[2]))


@dataclass(frozen=True)
class Schedule:
    """How often a tenant's unattended run is due; ``at`` (local) is required daily, and not
    used otherwise."""

    every: Every
    at: dt.time | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        parse_timezone(self.timezone)
        if self.every is Every.DAY and self.at is None:
            raise ScheduleError("a daily schedule needs the time of day it runs at (HH:MM)")
        if self.at is not None and (self.at.second or self.at.microsecond or self.at.tzinfo):
            raise ScheduleError("the time of day is a local HH:MM, without seconds or zone")

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return parse_timezone(self.timezone)


@dataclass(frozen=True)
class Slot:
    """The span one run covers: from ``start`` (included) to ``next`` (the next slot's start)."""

    start: dt.datetime
    next: dt.datetime


def slot_of(schedule: Schedule, instant: dt.datetime) -> Slot:
    """The slot ``instant`` (an aware instant) belongs to, in UTC."""
    if instant.utcoffset() is None:
        raise ScheduleError("an instant needs its time zone")
    moment = instant.astimezone(dt.UTC)
    boundaries = sorted(_boundaries(schedule, moment))
    start = max(b for b in boundaries if b <= moment)
    following = min(b for b in boundaries if b > moment)
    return Slot(start=start, next=following)


def next_run(schedule: Schedule | None, instant: dt.datetime) -> dt.datetime | None:
    """When the next slot after ``instant`` starts (None: no schedule)."""
    return None if schedule is None else slot_of(schedule, instant).next


def is_due(schedule: Schedule | None, *, next_run_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a run is due: a schedule is set and the slot the tenant waits for has begun
    (``next_run_at`` None: it never ran and none is waited for, so the current slot is due)."""
    if schedule is None:
        return False
    return next_run_at is None or next_run_at <= now


def _boundaries(schedule: Schedule, moment: dt.datetime) -> set[dt.datetime]:
    zone = schedule.zone
    local = moment.astimezone(zone).replace(tzinfo=None)
    window = _WINDOW[schedule.every.value]
    if schedule.every is Every.DAY:
        at = schedule.at or dt.time()  # a daily schedule always has one (Schedule checks)
        days = (local.date() + dt.timedelta(days=k) for k in range(-window, window + 1))
        walls = [dt.datetime.combine(day, at) for day in days]
        # Once a day: a time that occurs twice counts at its first occurrence (fold 0), one
        # that does not occur (the spring-forward gap) at the instant just after the gap.
        return {_utc(wall, zone, fold=0) for wall in walls}
    step = dt.timedelta(minutes=15 if schedule.every is Every.QUARTER_HOUR else 60)
    minutes = local.minute - local.minute % (step.seconds // 60)
    floor = local.replace(minute=minutes, second=0, microsecond=0)
    walls = [floor + k * step for k in range(-window, window + 1)]
    # More than once a day: the repeated hour of an autumn change runs too (both folds).
    return {_utc(wall, zone, fold=fold) for wall in walls for fold in (0, 1)}


def _utc(wall: dt.datetime, zone: zoneinfo.ZoneInfo, *, fold: int) -> dt.datetime:
    return wall.replace(tzinfo=zone, fold=fold).astimezone(dt.UTC)
