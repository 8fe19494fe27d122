"""Autotask failures as typed exceptions carrying the vendor's messages.

Autotask answers validation and business-rule failures alike with HTTP 500 and
``{"errors": ["message", …]}``; 405 comes as ``{"Message": "…"}``. The family:

- :class:`AutotaskError` (an :class:`~psasync.adapters.http.AdapterError`): refused, fatal;
- :class:`AutotaskAuthError`: 401/403, the API user's credentials or security level;
- :class:`AutotaskNotFound`: 404 (also a ``{"item": null}`` answer), a ``VendorNotFound``;
- :class:`AutotaskPostedPeriod`: a change inside an approved-and-posted (invoiced) period;
- :class:`AutotaskBusy` (an ``Unreachable``): the thread limit (``Itgenatr005``) or 429 still
  refused after every retry;
- :class:`AutotaskBudgetSpent` (an ``Unreachable``): the database's hourly request budget is
  spent; it lifts only as the rolling hour moves on, so it is reported at once, not waited on;
- :class:`AutotaskDataError`: an answer psasync cannot use (not JSON, a paging loop…);
- :class:`AdjustmentConflict`: a unit read after an unknown adjustment that fits neither
  outcome. Messages never contain credentials.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx

from psasync.adapters import jsonio
from psasync.adapters.http import AdapterError, Unreachable, VendorNotFound

VENDOR = "Autotask"
THREAD_LIMIT_CODE = "Itgenatr005"
# Autotask words its hourly-budget refusal in prose; these are the phrases it and its
# integrators' clients report ("request threshold", "API threshold", "…per rolling hour").
_BUDGET = re.compile(
    r"(request|api|usage)\s+(threshold|limit)|threshold\s+(exceeded|reached)|rolling\s+hour",
    re.IGNORECASE,
)
_POSTED = re.compile(r"approved\s+and\s+posted|already\s+posted", re.IGNORECASE)
# An unexpected server fault cites an "Error ID": whether a create behind it took effect is
# not known.
_FAULT = re.compile(r"error\s*id", re.IGNORECASE)


class AutotaskError(AdapterError):
    """Autotask refused a request; ``errors`` are the vendor's own messages."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        code: str | None = None,
        errors: Sequence[str] = (),
    ) -> None:
        super().__init__(message, vendor=VENDOR, status=status, code=code)
        self.errors = tuple(errors)


class AutotaskAuthError(AutotaskError):
    """401 (credentials not accepted) or 403 (the API user's security level forbids it)."""


class AutotaskNotFound(AutotaskError, VendorNotFound):
    """404, or an item that does not exist (or the API user may not see)."""


class AutotaskPostedPeriod(AutotaskError):
    """Autotask refused a change to a period already approved and posted (invoiced)."""


class AutotaskDataError(AutotaskError):
    """Autotask answered with data psasync cannot use."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=None, code="UnusableData")


class AutotaskBusy(Unreachable):
    """The thread limit or 429 still refused the request after every retry."""


class AutotaskBudgetSpent(Unreachable):
    """The database's hourly request budget is spent (shared by every integration)."""


class AdjustmentConflict(AutotaskError):
    """The units at an adjustment's effective date are neither those before it nor after it."""

    def __init__(self, message: str, *, before: Decimal, expected: Decimal, found: Decimal) -> None:
        super().__init__(message, status=None, code="AdjustmentConflict")
        self.before = before
        self.expected = expected
        self.found = found


def error_messages(response: httpx.Response) -> tuple[str, ...]:
    """The vendor's messages: ``{"errors": [...]}`` (strings or ``{message}`` objects),
    ``{"Message": …}`` or ``{"message": …}``; empty when the body is none of these."""
    try:
        body: Any = jsonio.loads(response.content)
    except ValueError:
        return ()
    if not isinstance(body, dict):
        return ()
    found: list[str] = []
    errors = body.get("errors")
    if isinstance(errors, list):
        for entry in errors:
            if isinstance(entry, str) and entry.strip():
                found.append(entry.strip())
            elif isinstance(entry, dict) and isinstance(entry.get("message"), str):
                found.append(entry["message"].strip())
    for name in ("Message", "message"):
        if isinstance(body.get(name), str) and body[name].strip():
            found.append(body[name].strip())
    return tuple(found)


def is_thread_limit(messages: Sequence[str]) -> bool:
    """Whether Autotask refused for its concurrent-thread limit (``Itgenatr005``)."""
    return any(THREAD_LIMIT_CODE.lower() in message.lower() for message in messages)


def is_budget_spent(messages: Sequence[str]) -> bool:
    """Whether Autotask refused because the hourly request budget is spent."""
    return any(_BUDGET.search(message) for message in messages)


def is_unexpected_fault(messages: Sequence[str]) -> bool:
    """Whether a 500 is an unexpected fault (it cites an Error ID) rather than a refusal."""
    return bool(messages) and all(_FAULT.search(message) for message in messages)


def budget_spent(messages: Sequence[str], *, what: str, status: int) -> AutotaskBudgetSpent:
    said = "; ".join(messages)
    return AutotaskBudgetSpent(
        f"Autotask refused {what}: the hourly request budget of the Autotask database is "
        f"spent ({said}). It is shared by every integration; try again later.",
        vendor=VENDOR,
        status=status,
        code="RequestBudget",
    )


def error_from_response(response: httpx.Response, *, what: str) -> AdapterError:
    """The exception for a failed answer to ``what`` (e.g. ``"GET /Companies/5"``)."""
    messages = error_messages(response)
    status = response.status_code
    said = "; ".join(messages) or response.reason_phrase or "no message"
    if is_budget_spent(messages):
        return budget_spent(messages, what=what, status=status)
    if status == 429 or is_thread_limit(messages):
        return AutotaskBusy(
            f"Autotask kept refusing {what} as too many requests at once ({said})",
            vendor=VENDOR,
            status=status,
            code=THREAD_LIMIT_CODE if is_thread_limit(messages) else None,
        )
    if status >= 500 and (status != 500 or not messages):
        return Unreachable(
            f"Autotask could not answer {what} ({status}: {said})", vendor=VENDOR, status=status
        )
    if status in (401, 403):
        return AutotaskAuthError(
            f"Autotask refused {what} ({status}: {said}). Check the API user's user name, "
            "secret and integration code, and that its security level allows contracts.",
            status=status,
            errors=messages,
        )
    if status == 404:
        return AutotaskNotFound(
            f"Autotask found nothing at {what} ({said})", status=status, errors=messages
        )
    if _POSTED.search(said):
        return AutotaskPostedPeriod(
            f"Autotask refused {what}: the period is already invoiced (approved and posted): "
            f"{said}",
            status=status,
            code="PostedPeriod",
            errors=messages,
        )
    return AutotaskError(
        f"Autotask refused {what} ({status}: {said})", status=status, errors=messages
    )
