"""How amounts, dates and labels read on the pages."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

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


_MONTHS = {f"{dt.date(2000, m, 1):%b}".casefold(): m for m in range(1, 13)}
_HOUSE_DATE = re.compile(r"\s*(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?,?\s+(\d{4})\s*")
_ISO_IN_TEXT = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def parse_date(text: str) -> dt.date:
    """A date as the pages show it (``24 Nov 2026``) or as ISO (``2026-11-24``); anything else
    raises ValueError."""
    found = _HOUSE_DATE.fullmatch(text)
    if found:
        month = _MONTHS.get(found.group(2).casefold())
        if month is None:
            raise ValueError(text)
        return dt.date(int(found.group(3)), month, int(found.group(1)))
    return dt.date.fromisoformat(text.strip())


def house_dates(text: str) -> str:
    """A message with every ISO date in it written as the pages write dates."""

    def spelled(found: re.Match[str]) -> str:
        try:
            return format_date(dt.date.fromisoformat(found.group(0)))
        except ValueError:
            return found.group(0)

    return _ISO_IN_TEXT.sub(spelled, text)


def plain_number(value: Decimal) -> str:
    """A quantity or price in plain notation: ``0.0000001``, never ``1E-7``."""
    return format(value, "f")


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


_KIND_LABELS = {
    "recurring": "Recurring",
    "prorate": "Prorate",
    "one_time": "One-time",
    # The marketplace order's line types, as the order table shows them.
    "setup": "Setup fee",
    "overuse": "Usage",
}


def kind_label(value: object) -> str:
    """An addition's kind or an order line's type in words: ``one_time`` → ``One-time``."""
    text = str(getattr(value, "value", value))
    return _KIND_LABELS.get(text, text.replace("_", " ").capitalize())


_OUTCOME_LABELS = {
    "applied": "Written",
    "found_applied": "Already in ConnectWise",
    "failed": "Not written",
    "pending": "Not written yet",
    "unknown": "Sent, answer not received (looked for before any new write)",
    "skipped": "Left out",
}


def outcome_label(value: object) -> str:
    """What became of one action of a sync run."""
    text = str(getattr(value, "value", value))
    return _OUTCOME_LABELS.get(text, text.replace("_", " ").capitalize())


def run_lines(plan_json: str) -> dict[str, dict[str, Any]]:
    """The values a sync run was to write, by key, from the plan it journalled: what the result
    page and the history show next to each action. An unreadable plan gives nothing."""
    try:
        actions = json.loads(plan_json).get("actions", [])
    except (ValueError, AttributeError):
        return {}
    lines: dict[str, dict[str, Any]] = {}
    for item in actions if isinstance(actions, list) else []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            numbers = {name: _decimal(item.get(name)) for name in ("quantity", "unitPrice")}
            if None not in numbers.values():
                lines[item["key"]] = {**item, **numbers}
    return lines


def _decimal(value: object) -> Decimal | None:
    try:
        found = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return found if found.is_finite() else None


def _plain_text(value: object) -> str:
    return plain_number(value) if isinstance(value, Decimal) else str(value)


# Helpers the wizard, its result and the history call by name (``kind(action.kind)``).
PAGE_HELPERS: dict[str, Any] = {
    "say": house_dates,
    "kind": kind_label,
    "outcome": outcome_label,
    "plain": _plain_text,
}
