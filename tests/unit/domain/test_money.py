from decimal import Decimal
from fractions import Fraction

import pytest

from psasync.domain.money import (
    Currency,
    Money,
    MoneyError,
    extended_amount,
    parse_amount,
    parse_money,
    round_half_up,
)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("70.5", "70.5"),
        ("12.50", "12.50"),
        ("-3", "-3"),
        (" 0.125 ", "0.125"),
        (".5", "0.5"),
        ("+4.", "4"),
        (12, "12"),
    ],
)
def test_amounts_are_read_exactly(written: object, expected: str) -> None:
    assert parse_amount(written) == Decimal(expected)


@pytest.mark.parametrize("written", ["NaN", "Infinity", "1e3", "12,50", "", "abc", "1.2.3"])
def test_amounts_that_are_not_plain_decimals_are_refused(written: str) -> None:
    with pytest.raises(MoneyError, match="not a plain decimal"):
        parse_amount(written)


@pytest.mark.parametrize("written", [12.5, True, None, ["1"]])
def test_amounts_must_be_strings_or_integers(written: object) -> None:
    with pytest.raises(MoneyError, match="must be a decimal string"):
        parse_amount(written)


def test_marketplace_money_is_parsed_into_decimal_and_currency() -> None:
    assert parse_money({"currency": "usd", "amount": "70.50"}) == Money(Decimal("70.50"), "USD")


def test_marketplace_money_missing_a_part_names_it() -> None:
    with pytest.raises(MoneyError, match="lacks amount"):
        parse_money({"currency": "USD"})
    with pytest.raises(MoneyError, match="lacks currency, amount"):
        parse_money({})


def test_marketplace_money_needs_a_string_currency() -> None:
    with pytest.raises(MoneyError, match="must be a string"):
        parse_money({"currency": 840, "amount": "1"})


@pytest.mark.parametrize("code", ["usd", "US", "USDT", ""])
def test_currency_codes_are_three_capitals(code: str) -> None:
    with pytest.raises(MoneyError, match="three capital letters"):
        Currency(code)
    with pytest.raises(MoneyError, match="three capital letters"):
        Money(Decimal(1), code)


@pytest.mark.parametrize("decimals", [-1, 5])
def test_currency_decimals_stay_in_connectwise_range(decimals: int) -> None:
    with pytest.raises(MoneyError, match="cannot have"):
        Currency("USD", decimals)


def test_currency_unit_is_its_smallest_amount() -> None:
    assert Currency("USD").unit == Decimal("0.01")
    assert Currency("JPY", 0).unit == Decimal("1")
    assert Currency("KWD", 3).unit == Decimal("0.001")


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), 1.5])
def test_money_needs_a_finite_decimal(amount: object) -> None:
    with pytest.raises(MoneyError, match="finite Decimal"):
        Money(amount, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (Decimal("0.005"), 2, "0.01"),
        (Decimal("0.0049999"), 2, "0.00"),
        (Decimal("-0.005"), 2, "-0.01"),
        (Decimal("2.5"), 0, "3"),
        (Decimal("-2.5"), 0, "-3"),
        (Fraction(2, 3), 2, "0.67"),
        (Fraction(-1, 3), 2, "-0.33"),
        (7, 2, "7.00"),
        (Decimal("1.23456"), 4, "1.2346"),
    ],
)
def test_rounding_is_half_up_away_from_zero(value: object, decimals: int, expected: str) -> None:
    rounded = round_half_up(value, decimals)  # type: ignore[arg-type]
    assert rounded == Decimal(expected)
    assert str(rounded) == expected


def test_extended_amount_is_quantity_times_unit_amount_rounded_once() -> None:
    assert extended_amount(Decimal(3), Decimal("20.00"), decimals=2) == Decimal("60.00")
    assert extended_amount(Decimal("12.5"), Decimal("0.0125"), decimals=2) == Decimal("0.16")
    assert extended_amount(Decimal(-2), Decimal("4.33"), decimals=2) == Decimal("-8.66")
