"""JSON as Autotask reads and writes it.

Answers: money as JSON numbers (written exactly from ``Decimal``), dates as
``YYYY-MM-DDT00:00:00Z`` (Autotask keeps date-times in UTC), null fields kept. Requests: numbers
read as ``Decimal``; a date-time is converted to UTC and its day taken, so a midnight sent with a
positive offset lands on the previous day, as it would at the vendor.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any


def vendor_date(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def loads(content: bytes | str) -> Any:
    """Parse a request body; fractional numbers become ``Decimal``, never float."""
    return json.loads(content, parse_float=Decimal)


def parse_day(value: object) -> dt.date | None:
    """A request's date or date-time as a UTC day; None when it cannot be read as one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()


def dumps(value: object) -> bytes:
    return _encode(value).encode("utf-8")


def _encode(value: object) -> str:
    if value is None or isinstance(value, bool | int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return json.dumps(value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    if isinstance(value, dt.date):
        return json.dumps(vendor_date(value))
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(key))}:{_encode(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
