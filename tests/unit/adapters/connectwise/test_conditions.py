"""The conditions builder: values become literals, never query text."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from psasync.adapters.connectwise.conditions import (
    ConditionError,
    all_of,
    any_of,
    field,
    literal,
    quote,
)


def test_comparisons_render_like_the_vendor_examples() -> None:
    condition = field("company/id").eq(250) & field("agreementStatus").eq("Active")
    assert str(condition) == 'company/id = 250 and agreementStatus = "Active"'
    assert str(field("name").like("Green%")) == 'name like "Green%"'
    assert str(field("name").contains("Lane")) == 'name contains "Lane"'
    assert str(field("id").in_([1, 2, 3])) == "id in (1, 2, 3)"
    assert str(field("lastUpdated").gt(dt.date(2026, 1, 1))) == (
        "lastUpdated > [2026-01-01T00:00:00Z]"
    )


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (-7, "-7"),
        (Decimal("12.50"), "12.50"),
        (Decimal("1E+2"), "100"),
        (dt.date(2026, 11, 1), "[2026-11-01T00:00:00Z]"),
        (
            dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "[2026-11-01T03:30:00Z]",
        ),
        ('say "hi"', r'"say \"hi\""'),
        ("back\\slash", r'"back\\slash"'),
    ],
)
def test_literals(value: object, written: str) -> None:
    assert literal(value) == written  # type: ignore[arg-type]


def test_user_input_cannot_break_out_of_its_string() -> None:
    sneaky = 'x" or id > 0 or name = "'
    assert str(field("name").eq(sneaky)) == r'name = "x\" or id > 0 or name = \""'
    assert quote('\\"') == r'"\\\""'


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        Decimal("NaN"),
        Decimal("Infinity"),
        dt.datetime.fromisoformat("2026-01-01T00:00:00"),
        object(),
    ],
    ids=["float", "nan", "infinity", "naive-datetime", "object"],
)
def test_values_without_a_safe_literal_are_refused(value: object) -> None:
    with pytest.raises(ConditionError):
        literal(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["", "1abc", "name; drop", "a//b", "a/", "name = 1", 'x"'])
def test_field_paths_are_checked(path: str) -> None:
    with pytest.raises(ConditionError, match="field path"):
        field(path)


def test_mixed_operators_are_parenthesised() -> None:
    a, b, c = field("a").eq(1), field("b").eq(2), field("c").eq(3)
    assert str((a | b) & c) == "(a = 1 or b = 2) and c = 3"
    assert str(a | (b & c)) == "a = 1 or (b = 2 and c = 3)"
    assert str(a & b & c) == "a = 1 and b = 2 and c = 3"
    assert str(all_of([a, b | c])) == "a = 1 and (b = 2 or c = 3)"
    assert str(any_of([a])) == "a = 1"


def test_empty_lists_are_refused() -> None:
    with pytest.raises(ConditionError):
        field("id").in_([])
    with pytest.raises(ConditionError):
        all_of([])
