"""Query parameters of the list endpoints: parsing, filtering, paging."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TypeVar

from psasync.sandbox.marketplace.errors import ApiError
from psasync.sandbox.marketplace.fixture import Account

T = TypeVar("T")


def similar(value: str, wanted: str | None) -> bool:
    """The API's "similar to" name search: a case-insensitive substring; no filter if None."""
    return wanted is None or wanted.casefold() in value.casefold()


def equal(value: str | None, wanted: str | None) -> bool:
    """An exact filter; no filter if None."""
    return wanted is None or value == wanted


def has_contact_email(account: Account, email: str | None) -> bool:
    if email is None:
        return True
    return any(p.email.casefold() == email.casefold() for p in account.contact_persons)


def one_of(value: str | None, allowed: Iterable[str], *, name: str) -> str | None:
    """A filter value that must be one of the API's enum values; 400 otherwise."""
    allowed = tuple(allowed)
    if value is not None and value not in allowed:
        raise ApiError(400, f"{name} {value!r} is not one of {', '.join(allowed)}")
    return value


def instant(text: str | None, *, name: str) -> dt.datetime | None:
    """A ``date-time`` query value; one without an offset is UTC. 400 if unreadable."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(
            400, f"{name} {text!r} is not a date-time like 2026-11-01T00:00:00Z"
        ) from None
    return value.replace(tzinfo=dt.UTC) if value.utcoffset() is None else value


def day(text: str | None, *, name: str) -> dt.date | None:
    """A ``date`` query value; 400 if unreadable."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"{name} {text!r} is not a date like 2026-11-01") from None


def within(value: dt.date, low: dt.date | None, high: dt.date | None) -> bool:
    """``low <= value <= high``, each bound optional (both ends included).

    Instants are compared with instants and days with days (a datetime is a date).
    """
    return (low is None or low <= value) and (high is None or value <= high)


def window(items: Sequence[T], *, offset: int, limit: int) -> list[T]:
    """The page ``[offset, offset + limit)`` of ``items``."""
    return list(items[offset : offset + limit])
