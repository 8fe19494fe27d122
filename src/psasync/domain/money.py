"""Money: exact decimal amounts and the one rounding rule billing uses.

The marketplace writes money as ``{"currency": "USD", "amount": "12.50"}`` with the amount as a
string; ConnectWise writes bare numbers and keeps the currency on the agreement. Both become
``Decimal`` here and are never touched by binary floating point.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import floor

from psasync.domain.errors import DomainError

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_PLAIN_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# ConnectWise's currency numberOfDecimals; no real currency has more than 4.
MAX_CURRENCY_DECIMALS = 4


class MoneyError(DomainError):
    """A money value that cannot be read or does not make sense."""


def _check_currency_code(code: str) -> None:
    if not _CURRENCY_CODE.fullmatch(code):
        raise MoneyError(f"currency code {code!r} is not three capital letters")


@dataclass(frozen=True)
class Currency:
    """An ISO 4217 currency and the number of decimals amounts in it are rounded to."""

    code: str
    decimals: int = 2

    def __post_init__(self) -> None:
        _check_currency_code(self.code)
        if not 0 <= self.decimals <= MAX_CURRENCY_DECIMALS:
            raise MoneyError(
                f"currency {self.code} cannot have {self.decimals} decimals "
                f"(0 to {MAX_CURRENCY_DECIMALS})"
            )

    @property
    def unit(self) -> Decimal:
        """The smallest amount in this currency, e.g. 0.01 for USD, 1 for JPY."""
        return Decimal(1).scaleb(-self.decimals)


@dataclass(frozen=True)
class Money:
    """An exact amount in a currency."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise MoneyError(f"amount {self.amount!r} is not a finite Decimal")
        _check_currency_code(self.currency)


def parse_amount(text: object) -> Decimal:
    """Read a decimal amount written as a string (``"70.5"``) or an integer.

    Floats are refused: they have already lost the exact value.
    """
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise MoneyError(f"amount {text!r} must be a decimal string")
    written = str(text).strip()
    if not _PLAIN_DECIMAL.fullmatch(written):
        raise MoneyError(f"amount {text!r} is not a plain decimal number")
    return Decimal(written)


def parse_money(value: Mapping[str, object]) -> Money:
    """Read the marketplace's ``{"currency": ..., "amount": ...}`` structure."""
    missing = [name for name in ("currency", "amount") if value.get(name) is None]
    if missing:
        raise MoneyError(f"money value {dict(value)!r} lacks {', '.join(missing)}")
    currency = value["currency"]
    if not isinstance(currency, str):
        raise MoneyError(f"currency {currency!r} must be a string")
    return Money(amount=parse_amount(value["amount"]), currency=currency.strip().upper())


def round_half_up(value: Decimal | Fraction | int, decimals: int) -> Decimal:
    """Round exactly to ``decimals`` places, halves away from zero (ROUND_HALF_UP).

    Works on the exact rational value, so a quotient such as ``price * 20 / 30`` is rounded
    once, from its true value, with no intermediate precision to round twice.
    """
    exact = Fraction(value)
    scale = 10**decimals
    magnitude = floor(abs(exact) * scale + Fraction(1, 2))
    units = magnitude if exact >= 0 else -magnitude
    return Decimal(units).scaleb(-decimals)


def extended_amount(quantity: Decimal, unit_amount: Decimal, *, decimals: int) -> Decimal:
    """Quantity × unit amount, rounded to the currency (exact for whole quantities)."""
    return round_half_up(Fraction(quantity) * Fraction(unit_amount), decimals)
