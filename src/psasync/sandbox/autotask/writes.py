"""Reading write bodies the vendor's way: field names case-insensitive, unknown ones ignored
(the API's JSON reader skips them), values checked against each field's type and length."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from psasync.sandbox.autotask.entities import Entity, FieldInfo, Kind
from psasync.sandbox.autotask.errors import rule
from psasync.sandbox.autotask.jsonio import parse_day


def read_body(body: object, entity: Entity) -> dict[str, Any]:
    """The entity's fields the body sets, by their canonical names, values typed."""
    if not isinstance(body, Mapping):
        raise rule(f"The request body must be a {entity.name} object.")
    values: dict[str, Any] = {}
    for key, value in body.items():
        info = entity.field(str(key))
        if info is not None:
            values[info.name] = typed(info, value)
    return values


def typed(info: FieldInfo, value: object) -> Any:
    if value is None:
        return None
    kind = info.kind
    if kind in {Kind.INTEGER, Kind.LONG}:
        number = _decimal(info, value)
        if number != number.to_integral_value():
            raise _invalid(info, value)
        return int(number)
    if kind.numeric:
        return _decimal(info, value)
    if kind is Kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        raise _invalid(info, value)
    if kind is Kind.DATETIME:
        day = parse_day(value)
        if day is None:
            raise _invalid(info, value)
        return day
    if not isinstance(value, str):
        raise _invalid(info, value)
    if info.length and len(value) > info.length:
        raise rule(f"The value for {info.name} exceeds the maximum length of {info.length}.")
    return value


def _decimal(info: FieldInfo, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise _invalid(info, value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _invalid(info, value) from None
    if not number.is_finite():
        raise _invalid(info, value)
    return number


def _invalid(info: FieldInfo, value: object) -> Exception:
    return rule(f"The value '{value}' is not a valid {info.kind.value} for {info.name}.")


def require(values: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if values.get(name) in (None, "")]
    if missing:
        raise rule(*(f"The field {name} is required." for name in missing))


def day(values: dict[str, Any], name: str) -> dt.date:
    value = values[name]
    if not isinstance(value, dt.date):
        raise rule(f"The field {name} is required.")
    return value
