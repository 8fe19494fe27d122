"""The edge's bounds (psasync.web.bounds): what a client may send as an amount, a date, text."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psasync.web.bounds import OutOfBounds, check_date, check_text, parse_amount


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", "12"),
        ("-3", "-3"),
        ("0.0002", "0.0002"),
        (" 12.50 ", "12.50"),
        ("999999999.999999", "999999999.999999"),
    ],
)
def test_plain_amounts_within_bounds_are_exact(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)


@pytest.mark.parametrize(
    "text",
    [
        "1E+1000000000",
        "1e3",
        "NaN",
        "Infinity",
        "1000000000",
        "0.0000001",
        "+1",
        "１２",
        "²",
        "1.",
        ".5",
        "",
    ],
)
def test_other_amounts_are_refused(text: str) -> None:
    with pytest.raises(OutOfBounds):
        parse_amount(text)


@given(st.text(max_size=30))
def test_any_text_is_an_amount_within_bounds_or_refused(text: str) -> None:
    try:
        amount = parse_amount(text)
    except OutOfBounds:
        return
    assert amount.is_finite() and abs(amount) < 10**9
    assert -amount.as_tuple().exponent <= 6  # type: ignore[operator]


def test_dates_stay_where_periods_can_be_computed() -> None:
    assert check_date(dt.date(2026, 11, 24)) == dt.date(2026, 11, 24)
    for far in (dt.date(9999, 12, 31), dt.date(1, 1, 1)):
        with pytest.raises(OutOfBounds):
            check_date(far)


@pytest.mark.parametrize("text", ["\x00", "a\x7fb", "\ud800", "\x1b[31m"])
def test_control_characters_and_surrogates_are_refused(text: str) -> None:
    with pytest.raises(OutOfBounds):
        check_text(text)
    assert check_text("tab\tand\nnewline é 😀") == "tab\tand\nnewline é 😀"
