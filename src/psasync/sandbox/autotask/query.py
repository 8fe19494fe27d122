"""Autotask queries: ``{"MaxRecords", "IncludeFields", "Filter": [...]}`` read and evaluated.

A filter item is ``{"op", "field", "value", "udf"}`` or a group ``{"op": "and"|"or", "items":
[...]}``; the top-level list is ANDed and may not be empty (the vendor wants at least one
condition; ``{"op": "exist", "field": "id"}`` selects everything). Field names and body keys are
read case-insensitively. Results are sorted by id; ``MaxRecords`` (1–500, default 500) cuts a
page and ``nextPageUrl`` continues after the last id. Anything wrong is the vendor's 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from psasync.sandbox.autotask.entities import Entity, FieldInfo, Kind
from psasync.sandbox.autotask.errors import rule
from psasync.sandbox.autotask.jsonio import loads, parse_day

MAX_RECORDS = 500
MAX_IN_VALUES = 500
Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]

COMPARISONS = {"eq", "noteq", "gt", "gte", "lt", "lte"}
TEXT_OPS = {"beginswith", "endswith", "contains"}
PRESENCE = {"exist", "notexist"}
MEMBERSHIP = {"in", "notin"}
GROUPS = {"and", "or"}


@dataclass(frozen=True)
class Query:
    max_records: int
    include_fields: tuple[str, ...] | None
    matches: Predicate
    after_id: int | None = None


def _lower_keys(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise rule(f"{where} must be a JSON object.")
    return {str(key).lower(): item for key, item in value.items()}


def read_query(body: object, entity: Entity, *, counting: bool = False) -> Query:
    """The query a POST body (or a GET's ``search``) asks for."""
    data = _lower_keys(body, "The query")
    max_records = data.get("maxrecords", MAX_RECORDS)
    if max_records is None:
        max_records = MAX_RECORDS
    if isinstance(max_records, bool) or not isinstance(max_records, int):
        raise rule("MaxRecords must be a whole number from 1 to 500.")
    if not counting and not 1 <= max_records <= MAX_RECORDS:
        raise rule(f"MaxRecords must be from 1 to {MAX_RECORDS}; {max_records} was given.")
    include = data.get("includefields")
    fields: tuple[str, ...] | None = None
    if include:
        if not isinstance(include, list) or not all(isinstance(f, str) for f in include):
            raise rule("IncludeFields must be a list of field names.")
        fields = tuple(_field(entity, name).name for name in include)
    filters = data.get("filter")
    if not isinstance(filters, list) or not filters:
        raise rule("A query needs at least one filter expression in Filter.")
    predicates = [_compile(item, entity) for item in filters]
    return Query(
        max_records=max_records,
        include_fields=fields,
        matches=lambda row: all(p(row) for p in predicates),
    )


def read_search(search: str | None, entity: Entity, *, counting: bool = False) -> Query:
    """``GET …/query?search={json}``."""
    if not search:
        raise rule("The search parameter is required.")
    try:
        body = loads(search)
    except ValueError:
        raise rule("The search parameter is not valid JSON.") from None
    return read_query(body, entity, counting=counting)


def _field(entity: Entity, name: object) -> FieldInfo:
    found = entity.field(name) if isinstance(name, str) else None
    if found is None:
        raise rule(f"Unable to find {name} in the {entity.name} entity.")
    return found


def _compile(item: object, entity: Entity) -> Predicate:
    data = _lower_keys(item, "A filter expression")
    op = str(data.get("op", "")).lower()
    if op in GROUPS:
        items = data.get("items")
        if not isinstance(items, list) or not items:
            raise rule(f"The '{op}' group needs a non-empty items list.")
        parts = [_compile(part, entity) for part in items]
        if op == "and":
            return lambda row: all(p(row) for p in parts)
        return lambda row: any(p(row) for p in parts)
    if data.get("udf") is True:
        raise rule(f"The user-defined field {data.get('field')} does not exist.")
    if op not in COMPARISONS | TEXT_OPS | PRESENCE | MEMBERSHIP:
        raise rule(f"'{data.get('op')}' is not a valid filter operator.")
    info = _field(entity, data.get("field"))
    name = info.name
    if op in PRESENCE:
        present = op == "exist"
        return lambda row: (row.get(name) not in (None, "")) == present
    value = data.get("value")
    if op in MEMBERSHIP:
        if not isinstance(value, list) or not value:
            raise rule(f"The '{op}' operator needs a list of values for {name}.")
        if len(value) > MAX_IN_VALUES:
            raise rule(f"The '{op}' operator takes at most {MAX_IN_VALUES} values.")
        wanted = [_operand(info, v) for v in value]
        inside = op == "in"
        return lambda row: any(_equal(row.get(name), w) for w in wanted) == inside
    if op in TEXT_OPS:
        if info.kind is not Kind.STRING:
            raise rule(f"The '{op}' operator needs a string field; {name} is {info.kind}.")
        needle = str(_operand(info, value)).lower()
        test: Callable[[str], bool] = {
            "beginswith": lambda text: text.startswith(needle),
            "endswith": lambda text: text.endswith(needle),
            "contains": lambda text: needle in text,
        }[op]
        return lambda row: isinstance(row.get(name), str) and test(row[name].lower())
    operand = _operand(info, value)
    if op == "eq":
        return lambda row: _equal(row.get(name), operand)
    if op == "noteq":
        return lambda row: not _equal(row.get(name), operand)
    if info.kind is Kind.BOOLEAN:
        raise rule(f"The '{op}' operator cannot compare the boolean field {name}.")
    compare: Callable[[Any], bool] = {
        "gt": lambda current: current > operand,
        "gte": lambda current: current >= operand,
        "lt": lambda current: current < operand,
        "lte": lambda current: current <= operand,
    }[op]
    return lambda row: row.get(name) is not None and compare(_comparable(row[name]))


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return value


def _equal(current: Any, operand: Any) -> bool:
    if current is None or operand is None:
        return current is None and operand is None
    return bool(_comparable(current) == operand)


def _operand(info: FieldInfo, value: object) -> Any:
    """A filter value read as the field's type; a value of another type is the vendor's 500."""
    if value is None:
        return None
    kind = info.kind
    if kind.numeric:
        if isinstance(value, bool):
            raise _bad_value(info, value)
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise _bad_value(info, value) from None
    if kind is Kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"true", "false"}:
            return str(value).lower() == "true"
        raise _bad_value(info, value)
    if kind is Kind.DATETIME:
        day = parse_day(value)
        if day is None:
            raise _bad_value(info, value)
        return day
    return str(value).lower()


def _bad_value(info: FieldInfo, value: object) -> Exception:
    return rule(f"The value {json.dumps(value, default=str)} is not valid for {info.name}.")


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_after_id: int | None


def run_query(rows: Sequence[Row], query: Query) -> Page:
    """The matching rows by id, one page of at most ``max_records``, fields trimmed."""
    selected = sorted((row for row in rows if query.matches(row)), key=lambda row: int(row["id"]))
    if query.after_id is not None:
        selected = [row for row in selected if int(row["id"]) > query.after_id]
    page = selected[: query.max_records]
    more = len(selected) > len(page)
    fields = query.include_fields
    items = [{name: row.get(name) for name in fields} if fields else dict(row) for row in page]
    return Page(items=items, next_after_id=int(page[-1]["id"]) if more else None)


def count(rows: Sequence[Row], query: Query) -> int:
    return sum(1 for row in rows if query.matches(row))


def page_json(page: Page, *, max_records: int, next_url: str | None) -> dict[str, Any]:
    return {
        "items": page.items,
        "pageDetails": {
            "count": len(page.items),
            "requestCount": max_records,
            "prevPageUrl": None,
            "nextPageUrl": next_url,
        },
    }


def paging_token(after_id: int) -> str:
    return quote(json.dumps({"afterId": after_id}, separators=(",", ":")), safe="")


def read_paging(token: str | None) -> int:
    try:
        data = json.loads(token or "")
        after = data["afterId"]
    except (ValueError, TypeError, KeyError):
        raise rule("The paging parameter is not valid.") from None
    if isinstance(after, bool) or not isinstance(after, int):
        raise rule("The paging parameter is not valid.")
    return after
