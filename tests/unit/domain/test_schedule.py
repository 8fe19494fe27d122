"""Slots of a tenant's schedule (DESIGN §8): every 15 minutes, hourly or daily at a local time,
in its IANA time zone, across daylight-saving changes; due when the slot it waits for began."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psasync.domain.schedule import (
    Every,
    Schedule,
    ScheduleError,
    Slot,
    is_due,
    next_run,
    parse_at,
    parse_timezone,
    slot_of,
)

UTC = dt.UTC


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_every_15_minutes_cuts_time_into_quarter_hours() -> None:
    schedule = Schedule(Every.QUARTER_HOUR)
    assert slot_of(schedule, utc("2026-11-24 12:07:30")) == Slot(
        utc("2026-11-24 12:00"), utc("2026-11-24 12:15")
    )
    assert slot_of(schedule, utc("2026-11-24 12:15")) == Slot(
        utc("2026-11-24 12:15"), utc("2026-11-24 12:30")
    )


def test_hourly_follows_the_local_full_hour() -> None:
    kolkata = Schedule(Every.HOUR, timezone="Asia/Kolkata")  # UTC+05:30
    assert slot_of(kolkata, utc("2026-11-24 12:07")) == Slot(
        utc("2026-11-24 11:30"), utc("2026-11-24 12:30")
    )


def test_daily_runs_at_the_local_time() -> None:
    berlin = Schedule(Every.DAY, at=dt.time(6, 0), timezone="Europe/Berlin")  # UTC+1 in winter
    assert slot_of(berlin, utc("2026-11-24 12:00")) == Slot(
        utc("2026-11-24 05:00"), utc("2026-11-25 05:00")
    )
    assert slot_of(berlin, utc("2026-11-24 04:59")) == Slot(
        utc("2026-11-23 05:00"), utc("2026-11-24 05:00")
    )


def test_daily_across_the_spring_change_keeps_the_local_time() -> None:
    # New York moves from UTC-5 to UTC-4 on 2026-03-08.
    ny = Schedule(Every.DAY, at=dt.time(6, 0), timezone="America/New_York")
    slot = slot_of(ny, utc("2026-03-07 12:00"))
    assert slot == Slot(utc("2026-03-07 11:00"), utc("2026-03-08 10:00"))
    assert slot.next - slot.start == dt.timedelta(hours=23)


def test_a_daily_time_in_the_spring_gap_runs_just_after_it() -> None:
    ny = Schedule(Every.DAY, at=dt.time(2, 30), timezone="America/New_York")
    # 02:30 does not exist on 2026-03-08: 03:30 EDT (07:30 UTC) instead, once.
    assert slot_of(ny, utc("2026-03-08 12:00")).start == utc("2026-03-08 07:30")
    assert slot_of(ny, utc("2026-03-08 07:29")).start == utc("2026-03-07 07:30")


def test_a_daily_time_that_occurs_twice_runs_once() -> None:
    ny = Schedule(Every.DAY, at=dt.time(1, 30), timezone="America/New_York")
    # 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST) on 2026-11-01.
    slot = slot_of(ny, utc("2026-11-01 06:45"))
    assert slot == Slot(utc("2026-11-01 05:30"), utc("2026-11-02 06:30"))


def test_hourly_keeps_running_through_the_repeated_hour() -> None:
    ny = Schedule(Every.HOUR, timezone="America/New_York")
    starts = {
        slot_of(ny, utc("2026-11-01 04:00") + dt.timedelta(minutes=m)).start
        for m in range(0, 240, 7)
    }
    assert sorted(starts) == [utc(f"2026-11-01 0{h}:00") for h in range(4, 8)]


@given(
    every=st.sampled_from(list(Every)),
    zone=st.sampled_from(
        ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
    ),
    at=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    instant=st.datetimes(
        min_value=dt.datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=dt.datetime(2035, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_an_instant_is_in_exactly_one_slot(
    every: Every, zone: str, at: dt.time, instant: dt.datetime
) -> None:
    schedule = Schedule(every, at=at, timezone=zone)
    slot = slot_of(schedule, instant)
    assert slot.start <= instant < slot.next
    assert slot.start.tzinfo is UTC and slot.next.tzinfo is UTC
    # The next slot begins where this one ends.
    assert slot_of(schedule, slot.next).start == slot.next
    assert slot.next - slot.start <= dt.timedelta(hours=26)
    assert next_run(schedule, instant) == slot.next


def test_due_when_the_awaited_slot_has_begun() -> None:
    schedule = Schedule(Every.QUARTER_HOUR)
    now = utc("2026-11-24 12:07")
    assert is_due(schedule, next_run_at=None, now=now)
    assert is_due(schedule, next_run_at=utc("2026-11-24 12:00"), now=now)
    assert not is_due(schedule, next_run_at=utc("2026-11-24 12:15"), now=now)
    assert not is_due(None, next_run_at=None, now=now)
    assert next_run(None, now) is None


@pytest.mark.parametrize("text", ["6:00", "24:00", "12:60", "12:00:00", "", "noon", "12.30"])
def test_a_time_of_day_is_hh_mm(text: str) -> None:
    with pytest.raises(ScheduleError, match="HH:MM"):
        parse_at(text)


def test_a_time_of_day_is_read() -> None:
    assert parse_at("06:30") == dt.time(6, 30) and parse_at("23:59") == dt.time(23, 59)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../../etc/passwd", "America", "utc+1"])
def test_an_unknown_time_zone_is_refused(name: str) -> None:
    with pytest.raises(ScheduleError, match="not a known time zone"):
        parse_timezone(name)
    with pytest.raises(ScheduleError):
        Schedule(Every.HOUR, timezone=name)


def test_a_daily_schedule_needs_its_time() -> None:
    with pytest.raises(ScheduleError, match="time of day"):
        Schedule(Every.DAY)


def test_the_time_is_a_plain_local_hh_mm() -> None:
    with pytest.raises(ScheduleError, match="without seconds"):
        Schedule(Every.DAY, at=dt.time(6, 0, 30))


def test_an_instant_needs_its_zone() -> None:
    with pytest.raises(ScheduleError, match="time zone"):
        slot_of(Schedule(Every.HOUR), dt.datetime(2026, 11, 24, 12))  # noqa: DTZ001


def test_labels() -> None:
    assert [every.label for every in Every] == ["every 15 minutes", "every hour", "every day"]
