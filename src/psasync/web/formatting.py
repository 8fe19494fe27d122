"""How amounts, dates and labels read on the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from psasync.services.types import Action, OrderType, TaskStatus

# Symbols for the currencies marketplaces bill in; any other currency shows its ISO code.
_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "JPY": "¥",
    "INR": "₹",
    "BRL": "R$",
    "MXN": "MX$",
    "ZAR": "R",
}
_MINUS = "\u2212"  # a real minus sign: a hyphen is easy to miss in front of a credit


def format_money(amount: Decimal, currency: str, decimals: int = 2) -> str:
    """``$1,234.50``, ``−$33.00``, ``CHF 12.00``: at least ``decimals`` places, never fewer
    than the amount has (a usage rate of 0.0002 keeps every digit)."""
    exponent = amount.as_tuple().exponent
    places = max(decimals, -exponent) if isinstance(exponent, int) else decimals
    digits = f"{abs(amount):,.{places}f}"
    symbol = _SYMBOLS.get(currency.upper())
    text = f"{symbol}{digits}" if symbol else f"{currency.upper()} {digits}"
    return f"{_MINUS}{text}" if amount < 0 else text


def format_date(value: dt.date | None) -> str:
    """``24 Nov 2026``: the month spelled, so no reader mistakes day for month."""
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y}"


def format_iso_date(text: str) -> str:
    """An ISO date as the pages show dates; anything else as it is (or a dash if empty)."""
    try:
        return format_date(dt.date.fromisoformat(text))
    except ValueError:
        return text or "—"


def format_instant(value: dt.datetime | None) -> str:
    """``24 Nov 2026, 12:00 UTC``."""
    if value is None:
        return ""
    utc = value.astimezone(dt.UTC)
    return f"{format_date(utc.date())}, {utc:%H:%M} UTC"


def order_type_label(value: OrderType | str) -> str:
    return OrderType(value).label


_STATUS_LABELS = {
    TaskStatus.NEW: "New",
    TaskStatus.SYNCED: "Synced",
    TaskStatus.FAILED: "Failed",
    TaskStatus.IGNORED: "Ignored",
}


def status_label(value: TaskStatus | str) -> str:
    return _STATUS_LABELS[TaskStatus(value)]


_ACTION_LABELS = {
    Action.CREATE: "Create",
    Action.UPDATE: "Update",
    Action.CANCEL: "Cancel",
    # A delete only ever removes an addition that has not started: it never billed.
    Action.DELETE: "Delete (never billed)",
}


def action_label(value: Action | str) -> str:
    """What an action does, in the words of the review and result tables."""
    try:
        return _ACTION_LABELS[Action(value)]
    except ValueError:
        return str(value).capitalize()


# By the values of the planner's PriceOrigin (the API's ``priceOrigin``).
_PRICE_ORIGIN_LABELS = {
    "marketplace": "Cloud Marketplace",
    "existingAddition": "Existing addition",
    "catalog": "ConnectWise Catalog",
    "edited": "Edited",
}


def price_origin_label(value: object) -> str:
    """Where a line's unit price and cost came from, in plain words."""
    text = str(getattr(value, "value", value))
    return _PRICE_ORIGIN_LABELS.get(text, text)


def busy_until_label(value: dt.datetime) -> str:
    """``14:05 UTC``: when a sync run's claim on a task lapses."""
    return f"{value.astimezone(dt.UTC):%H:%M} UTC"
