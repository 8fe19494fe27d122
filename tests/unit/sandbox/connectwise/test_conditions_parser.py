"""The emulator's conditions parser: tokens, precedence, errors, and agreement with the client."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psasync.adapters.connectwise.conditions import field
from psasync.sandbox.connectwise.conditions import (
    BoolOp,
    Comparison,
    ConditionSyntaxError,
    Not,
    parse,
    tokenize,
)

UTC = dt.UTC


def test_a_comparison_with_each_kind_of_value() -> None:
    assert parse('name = "Green \\"Lane\\""') == Comparison("name", "=", 'Green "Lane"')
    assert parse("company/id>=250") == Comparison("company/id", ">=", Decimal(250))
    assert parse("quantity < -1.50") == Comparison("quantity", "<", Decimal("-1.50"))
    assert parse("lastUpdated > [2026-01-01T10:00:00Z]") == Comparison(
        "lastUpdated", ">", dt.datetime(2026, 1, 1, 10, tzinfo=UTC)
    )
    midnight = dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert parse("day = [2026-01-01]") == Comparison("day", "=", midnight)
    assert parse("d = [2026-01-01T02:00:00+02:00]") == Comparison("d", "=", midnight)
    assert parse("flag = TRUE") == Comparison("flag", "=", True)
    assert parse("flag != false") == Comparison("flag", "!=", False)
    assert parse("currency = null") == Comparison("currency", "=", None)


def test_keyword_operators_and_their_negations() -> None:
    assert parse('name LIKE "G%"') == Comparison("name", "like", "G%")
    assert parse('name not contains "x"') == Comparison("name", "contains", "x", negated=True)
    assert parse('id in (1, 2,"3")') == Comparison("id", "in", (Decimal(1), Decimal(2), "3"))
    assert parse("id not in (1)") == Comparison("id", "in", (Decimal(1),), negated=True)


def test_and_binds_tighter_than_or_and_parentheses_regroup() -> None:
    a, b, c = (Comparison(x, "=", Decimal(1)) for x in "abc")
    assert parse("a = 1 or b = 1 and c = 1") == BoolOp("or", a, BoolOp("and", b, c))
    assert parse("(a = 1 or b = 1) and c = 1") == BoolOp("and", BoolOp("or", a, b), c)
    assert parse("not a = 1 and b = 1") == BoolOp("and", Not(a), b)
    assert parse("a=1 and b=1 and c=1") == BoolOp("and", BoolOp("and", a, b), c)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("name =", "expected a value"),
        ("= 3", "expected a field name"),
        ("name 3", "expected an operator"),
        ("name not = 3", "expected an operator"),
        ('name = "open', "not closed"),
        ("d = [2026-01-01", "not closed"),
        ("d = [01/02/2026]", "not a date"),
        ("(a = 1", "expected ')'"),
        ("a = 1)", "expected 'and', 'or' or the end"),
        ("a = 1 b = 2", "expected 'and', 'or' or the end"),
        ("id in 1, 2", "expected '('"),
        ("id in (1 2)", "expected ',' or ')'"),
        ("a = 1 & b = 2", "unexpected character '&'"),
        ("a = 1 and", "expected a field name"),
    ],
)
def test_syntax_errors_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        parse(text)
    assert message in str(caught.value)


def test_tokens_know_their_position() -> None:
    tokens = tokenize('a/b != "x y"')
    assert [(t.kind, t.text, t.at) for t in tokens] == [
        ("name", "a/b", 0),
        ("symbol", "!=", 4),
        ("string", '"x y"', 7),
    ]


@given(st.text())
def test_any_string_the_client_writes_reads_back_unchanged(text: str) -> None:
    assert parse(str(field("description").contains(text))) == Comparison(
        "description", "contains", text
    )


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.dates(min_value=dt.date(1900, 1, 1)),
    st.booleans(),
)
def test_numbers_dates_and_flags_the_client_writes_read_back(
    number: Decimal, day: dt.date, flag: bool
) -> None:
    condition = field("n").eq(number) & field("d").ge(day) & field("f").le(flag)
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
    assert parse(str(condition)) == BoolOp(
        "and",
        BoolOp("and", Comparison("n", "=", number), Comparison("d", ">=", midnight)),
        Comparison("f", "<=", flag),
    )
