"""What the API and the pages accept from a client, checked at the edge so that no value can
reach the services that they cannot hold (docs/api.md "Bounds").

- Record ids (tasks, agreements, companies, catalog items) are ConnectWise's 32-bit integers:
  1 to 2^31 − 1. Offsets are 0 to 10^9, page sizes 1 to 500.
- Quantities and prices are decimals in plain notation (``12``, ``-3``, ``0.0002``): below 10^9
  in size with at most 6 decimal places — 15 significant digits, which ConnectWise's number
  fields hold exactly, and far from where the exact arithmetic of a plan could overflow.
- Dates lie in the years 1900 to 2999 (period arithmetic never leaves the calendar).
- Text carries no control characters (NUL included, which PostgreSQL cannot store) and no lone
  surrogates (which cannot be written as UTF-8).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

MAX_ID = 2**31 - 1
MAX_OFFSET = 10**9
MAX_LIMIT = 500
AMOUNT_INTEGER_DIGITS = 9
AMOUNT_DECIMALS = 6
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2999, 12, 31)
_AMOUNT = re.compile(rf"-?[0-9]{{1,{AMOUNT_INTEGER_DIGITS}}}(\.[0-9]{{1,{AMOUNT_DECIMALS}}})?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

AMOUNT_RULE = (
    f"a number in plain notation below 10^{AMOUNT_INTEGER_DIGITS} "
    f"with at most {AMOUNT_DECIMALS} decimal places"
)


class OutOfBounds(ValueError):
    """A value a client sent that psasync does not accept; the message says what would do."""


def parse_amount(text: str) -> Decimal:
    """A quantity or price typed or sent as text: ``"12.50"`` → ``Decimal("12.50")``.

    Exponents (``1E+3``), infinities, NaN, signs other than a leading minus, more than
    9 integer digits or 6 decimals are refused with :class:`OutOfBounds`.
    """
    cleaned = text.strip()
    if not _AMOUNT.fullmatch(cleaned):
        raise OutOfBounds(f"must be {AMOUNT_RULE}, such as 12 or 12.50")
    return Decimal(cleaned)


def _amount(value: Any) -> Any:
    # A JSON number arrives as an int or float; its shortest repr is the number the client wrote.
    if isinstance(value, bool):
        raise OutOfBounds(f"must be {AMOUNT_RULE}")
    if isinstance(value, int | float):
        value = repr(value) if isinstance(value, float) else str(value)
    if not isinstance(value, str):
        raise OutOfBounds(f"must be {AMOUNT_RULE}")
    return parse_amount(value)


def check_date(value: dt.date) -> dt.date:
    """A date psasync can compute periods from (:data:`FIRST_DATE` to :data:`LAST_DATE`)."""
    if not FIRST_DATE <= value <= LAST_DATE:
        raise OutOfBounds(f"must lie between {FIRST_DATE} and {LAST_DATE}")
    return value


def check_text(value: str) -> str:
    """Text without control characters or lone surrogates (tabs and newlines are fine)."""
    if _CONTROL.search(value):
        raise OutOfBounds("must not contain control characters")
    return value


def clean_text(value: str) -> bool:
    """Whether ``value`` passes :func:`check_text`."""
    return _CONTROL.search(value) is None


Amount = Annotated[Decimal, BeforeValidator(_amount)]
BoundedDate = Annotated[dt.date, AfterValidator(check_date)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]

CleanText = Annotated[str, AfterValidator(check_text)]
