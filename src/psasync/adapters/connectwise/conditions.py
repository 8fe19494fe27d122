"""Safe building of ConnectWise ``conditions`` query strings.

Values are never pasted into the query text: each is written as a literal of its type (a quoted
and escaped string, a number, ``[date]``, ``true``/``false``/``null``), and field paths are
checked against the vendor's ``name/name`` shape. A customer called ``Bob" or id>0 or "`` stays
one string literal.

    >>> str(field("company/id").eq(250) & field("agreementStatus").eq("Active"))
    'company/id = 250 and agreementStatus = "Active"'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

Literal = str | int | Decimal | bool | dt.date | None

_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*")


class ConditionError(ValueError):
    """A condition that cannot be written safely."""


def quote(text: str) -> str:
    """A string literal: double quotes, with backslash and double quote escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: Literal) -> str:
    """The conditions literal of ``value``; floats are refused (they have lost the digits)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ConditionError(f"{value} is not a number a condition can compare with")
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ConditionError(f"instant {value.isoformat()} has no time zone")
        return f"[{value.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}]"
    if isinstance(value, dt.date):
        return f"[{value.isoformat()}T00:00:00Z]"
    if isinstance(value, str):
        return quote(value)
    raise ConditionError(f"cannot compare with {type(value).__name__} value {value!r}")


@dataclass(frozen=True)
class Condition:
    """A complete condition; combine with ``&`` and ``|``, render with ``str()``."""

    text: str
    # The operator joining the top level ("and"/"or"), None for a single comparison.
    joiner: str | None = None

    def __and__(self, other: Condition) -> Condition:
        return _join("and", (self, other))

    def __or__(self, other: Condition) -> Condition:
        return _join("or", (self, other))

    def __str__(self) -> str:
        return self.text


def all_of(conditions: Iterable[Condition]) -> Condition:
    """Every condition holds (``a and b and …``)."""
    return _join("and", tuple(conditions))


def any_of(conditions: Iterable[Condition]) -> Condition:
    """At least one condition holds (``a or b or …``)."""
    return _join("or", tuple(conditions))


def _join(joiner: str, parts: tuple[Condition, ...]) -> Condition:
    if not parts:
        raise ConditionError(f"'{joiner}' needs at least one condition")
    if len(parts) == 1:
        return parts[0]
    # A part joined by the other operator is parenthesised, so precedence never matters.
    texts = [f"({p.text})" if p.joiner not in (None, joiner) else p.text for p in parts]
    return Condition(text=f" {joiner} ".join(texts), joiner=joiner)


@dataclass(frozen=True)
class Field:
    """A field path such as ``company/id``; its methods make comparisons."""

    path: str

    def __post_init__(self) -> None:
        if not _PATH.fullmatch(self.path):
            raise ConditionError(f"{self.path!r} is not a field path like company/id")

    def _compare(self, operator: str, value: Literal) -> Condition:
        return Condition(f"{self.path} {operator} {literal(value)}")

    def eq(self, value: Literal) -> Condition:
        return self._compare("=", value)

    def lt(self, value: Literal) -> Condition:
        return self._compare("<", value)

    def le(self, value: Literal) -> Condition:
        return self._compare("<=", value)

    def gt(self, value: Literal) -> Condition:
        return self._compare(">", value)

    def ge(self, value: Literal) -> Condition:
        return self._compare(">=", value)

    def like(self, pattern: str) -> Condition:
        """SQL-style match: ``%`` any run of characters, ``_`` one character."""
        return self._compare("like", pattern)

    def contains(self, text: str) -> Condition:
        return self._compare("contains", text)

    def in_(self, values: Iterable[Literal]) -> Condition:
        written = [literal(value) for value in values]
        if not written:
            raise ConditionError(f"'{self.path} in ()' needs at least one value")
        return Condition(f"{self.path} in ({', '.join(written)})")


def field(path: str) -> Field:
    """The field at ``path`` (``name`` or ``reference/name``)."""
    return Field(path)
