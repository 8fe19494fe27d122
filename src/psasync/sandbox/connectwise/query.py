"""List queries as the vendor runs them: ``conditions``, ``orderBy``, ``page``/``pageSize``
and the ``Link`` header.

Each resource declares its queryable fields and their kinds, so a condition on an unknown field
or with a value of the wrong type is a 400, as on the real API. String comparisons ignore case
(the vendor's SQL Server collation); a null field matches only ``= null`` / ``!= null``.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlencode

from psasync.sandbox.connectwise.conditions import (
    BoolOp,
    Comparison,
    ConditionSyntaxError,
    Node,
    Not,
    Value,
    parse,
)
from psasync.sandbox.connectwise.errors import bad_request

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000


class Kind(StrEnum):
    NUMBER = "number"
    STRING = "string"
    DATE = "date"
    BOOLEAN = "boolean"


Schema = Mapping[str, Kind]
Row = Mapping[str, object]
Item = TypeVar("Item")
_PYTHON_TYPE: dict[Kind, type | tuple[type, ...]] = {
    Kind.NUMBER: Decimal,
    Kind.STRING: str,
    Kind.DATE: dt.datetime,
    Kind.BOOLEAN: bool,
}
_ORDERED = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def compile_conditions(text: str, schema: Schema) -> Callable[[Row], bool]:
    """A predicate over flattened rows; syntax and type errors raise a vendor 400."""
    node = checked_conditions(text, schema)
    return lambda row: _evaluate(node, row, schema)


def checked_conditions(text: str, schema: Schema) -> Node:
    """The parsed conditions, every field and value checked; errors raise a vendor 400."""
    try:
        node = parse(text)
    except ConditionSyntaxError as error:
        raise bad_request(f"conditions: {error}") from None
    _check(node, schema)
    return node


def _check(node: Node, schema: Schema) -> None:
    if isinstance(node, BoolOp):
        _check(node.left, schema)
        _check(node.right, schema)
    elif isinstance(node, Not):
        _check(node.operand, schema)
    else:
        _check_comparison(node, schema)


def _check_comparison(comparison: Comparison, schema: Schema) -> None:
    kind = schema.get(comparison.path)
    if kind is None:
        raise bad_request(f"conditions: {comparison.path} is not a field that can be searched")
    op = comparison.operator
    if op in ("like", "contains") and kind is not Kind.STRING:
        raise bad_request(f"conditions: '{op}' needs a text field, {comparison.path} is not")
    if op in _ORDERED and kind is Kind.BOOLEAN:
        raise bad_request(f"conditions: {comparison.path} is true or false, it has no order")
    values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
    for value in values:
        if value is None:
            if op not in ("=", "!=", "in"):
                raise bad_request("conditions: null can only be compared with = or !=")
        elif not isinstance(value, _PYTHON_TYPE[kind]) or (
            kind is Kind.NUMBER and isinstance(value, bool)
        ):
            raise bad_request(
                f"conditions: {comparison.path} is a {kind.value} field; "
                f"cannot compare it with {_describe(value)}"
            )


def _describe(value: Value) -> str:
    if isinstance(value, str):
        return f'the string "{value}"'
    if isinstance(value, dt.datetime):
        return f"the date [{value.isoformat()}]"
    return str(value).lower()


def normalised(value: object, kind: Kind) -> object:
    """A row value in the form literals are compared with."""
    if value is None:
        return None
    if kind is Kind.STRING:
        return str(value).casefold()
    if kind is Kind.DATE and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if kind is Kind.NUMBER and not isinstance(value, Decimal):
        return Decimal(str(value))
    return value


def _evaluate(node: Node, row: Row, schema: Schema) -> bool:
    if isinstance(node, BoolOp):
        left = _evaluate(node.left, row, schema)
        if node.operator == "and":
            return left and _evaluate(node.right, row, schema)
        return left or _evaluate(node.right, row, schema)
    if isinstance(node, Not):
        return not _evaluate(node.operand, row, schema)
    kind = schema[node.path]
    actual = normalised(row.get(node.path), kind)
    if node.value is None:
        is_null = actual is None
        return (is_null if node.operator == "=" else not is_null) != node.negated
    if actual is None:
        return False  # SQL: a comparison with null is never true, negated or not
    return _compare(actual, node, kind) != node.negated


def _compare(actual: object, node: Comparison, kind: Kind) -> bool:
    op = node.operator
    if op == "in":
        values = node.value if isinstance(node.value, tuple) else (node.value,)
        return any(actual == normalised(value, kind) for value in values)
    wanted = normalised(node.value, kind)
    if op == "like":
        return _like(str(node.value)).fullmatch(str(actual)) is not None
    if op == "contains":
        return str(wanted) in str(actual)
    if op == "=":
        return actual == wanted
    if op == "!=":
        return actual != wanted
    compare: Callable[[Any, Any], bool] = _ORDERED[op]
    return compare(actual, wanted)


def _like(pattern: str) -> re.Pattern[str]:
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def order_rows(
    items: Sequence[Item], order_by: str | None, schema: Schema, *, row: Callable[[Item], Row]
) -> list[Item]:
    """Items sorted by ``orderBy`` (``"name asc, id desc"``) of their rows, by id by default.

    Nulls sort first ascending and last descending, as in SQL Server.
    """
    keys = _order_keys(order_by, schema) if order_by and order_by.strip() else [("id", False)]
    ordered = list(items)
    for path, descending in reversed(keys):
        kind = schema[path]
        ordered.sort(key=lambda item: _sort_key(row(item).get(path), kind), reverse=descending)
    return ordered


def _order_keys(order_by: str, schema: Schema) -> list[tuple[str, bool]]:
    keys = []
    for part in order_by.split(","):
        words = part.split()
        if not 1 <= len(words) <= 2 or (len(words) == 2 and words[1].lower() not in _DIRECTIONS):
            raise bad_request(f"orderBy: {part.strip()!r} is not like 'name asc' or 'id desc'")
        if words[0] not in schema:
            raise bad_request(f"orderBy: {words[0]} is not a field that can be sorted on")
        keys.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return keys


_DIRECTIONS = {"asc", "desc"}


def _sort_key(value: object, kind: Kind) -> tuple[int, object]:
    found = normalised(value, kind)
    return (0, "") if found is None else (1, found)


@dataclass(frozen=True)
class Paging:
    page: int
    page_size: int

    def window(self, items: Sequence[Item]) -> Sequence[Item]:
        start = (self.page - 1) * self.page_size
        return items[start : start + self.page_size]


def read_paging(params: Mapping[str, str]) -> Paging:
    """``page`` (from 1) and ``pageSize`` (default 25; above 1000 is served as 1000)."""
    page = _whole(params.get("page"), "page", default=1)
    size = _whole(params.get("pagesize"), "pageSize", default=DEFAULT_PAGE_SIZE)
    return Paging(page=page, page_size=min(size, MAX_PAGE_SIZE))


def _whole(text: str | None, name: str, *, default: int) -> int:
    if text is None or not text.strip():
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise bad_request(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def link_header(
    *, url: str, query: Sequence[tuple[str, str]], paging: Paging, total: int
) -> str | None:
    """``<…&page=N>; rel="next"`` links (the page number is always the URL's last parameter)."""
    last = max(1, math.ceil(total / paging.page_size))
    kept = [(k, v) for k, v in query if k.lower() not in ("page", "pagesize")]

    def link(page: int, rel: str) -> str:
        params = urlencode([*kept, ("pageSize", str(paging.page_size)), ("page", str(page))])
        return f'<{url}?{params}>; rel="{rel}"'

    links = []
    if paging.page > 1:
        links += [link(1, "first"), link(min(paging.page - 1, last), "prev")]
    if paging.page < last:
        links += [link(paging.page + 1, "next"), link(last, "last")]
    return ", ".join(links) or None
