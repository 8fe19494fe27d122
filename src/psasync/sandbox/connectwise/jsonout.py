"""JSON as ConnectWise writes it: exact numbers, ``...T00:00:00Z`` dates, no null fields."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any


def vendor_date(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def loads(content: bytes) -> Any:
    """Parse a request body; fractional numbers become ``Decimal``, never float."""
    return json.loads(content, parse_float=Decimal)


def without_nulls(value: Any) -> Any:
    """The vendor leaves null fields out of its answers."""
    if isinstance(value, Mapping):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


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
