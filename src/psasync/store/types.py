"""Column types that keep money exact and instants in UTC on every database psasync supports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, String
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware instant, stored as naive UTC (SQLite has no time zones) and read back aware."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, _dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"instant {value.isoformat()} has no time zone")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, _dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        instant: dt.datetime = value
        return instant.replace(tzinfo=dt.UTC)


class DecimalText(TypeDecorator[Decimal]):
    """An exact decimal stored as its text: SQLite would round a NUMERIC through a float."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, _dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"{value!r} is not a finite Decimal")
        return str(value)

    def process_result_value(self, value: Any, _dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)
