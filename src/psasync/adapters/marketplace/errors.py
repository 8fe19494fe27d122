"""The Cloud Marketplace client's errors, and how a vendor answer becomes one.

Every error carries the ``X-Correlation-ID`` of the answer that caused it (when there was one):
the marketplace's support asks for it. Messages name what failed and what the marketplace said,
never a password, token or subscription key.
"""

from __future__ import annotations

import json
import logging

import httpx

from psasync.adapters.http import AdapterError, Unreachable

log = logging.getLogger(__name__)

VENDOR = "Cloud Marketplace"
CORRELATION_HEADER = "X-Correlation-ID"
# Enough of a non-JSON error body to recognise it, not a whole HTML error page.
_TEXT_SNIPPET = 200


class MarketplaceError(AdapterError):
    """A marketplace call that failed; ``correlation_id`` identifies it to the vendor."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, vendor=VENDOR, status=status, code=code)
        self.correlation_id = correlation_id

    def __str__(self) -> str:
        if self.correlation_id:
            return f"{self.message} (X-Correlation-ID {self.correlation_id})"
        return self.message


class InvalidCredentials(MarketplaceError):
    """``POST /token`` refused the username, password or the installation's subscription key."""


class MarketplaceUnreachable(MarketplaceError, Unreachable):
    """No useful answer even after retrying: down, overloaded, timing out or refusing to connect."""


class NotFound(MarketplaceError):
    """The object does not exist, or belongs to another reseller (the vendor does not say which)."""


class AccessDenied(MarketplaceError):
    """403: the user may not do this."""


class SessionRejected(MarketplaceError):
    """A call was refused with 401 even with a freshly issued token."""


class RequestRejected(MarketplaceError):
    """Any other 4xx: the request was wrong; the message is the vendor's."""


class UnexpectedResponse(MarketplaceError):
    """A successful status with a body that is not what the API specification promises."""


class PagingError(UnexpectedResponse):
    """A list whose pages do not advance: refused rather than looped over or silently cut."""


class ResellerAccountUnclear(UnexpectedResponse):
    """``GET /resellers`` did not name exactly one reseller account for the logged-in user."""


class UnsupportedOrder(MarketplaceError):
    """An order psasync does not sync (e.g. a ``migration`` order), or one it cannot read."""


class UnsupportedSubscription(MarketplaceError):
    """A subscription the domain cannot represent, e.g. billed on a ``statement_day`` period."""


def correlation_id(response: httpx.Response) -> str | None:
    """The marketplace's ``X-Correlation-ID`` of an answer, if it sent one."""
    return response.headers.get(CORRELATION_HEADER) or None


def vendor_message(response: httpx.Response) -> str:
    """What the marketplace said about an error, from a JSON body or the start of a text one.

    The specification defines no error schema; gateways answer ``{"message": ...}``,
    ``{"error": ..., "message": ...}`` or ``{"error_description": ...}``, so each is tried.
    """
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error_description", "detail", "error"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    text = response.text.strip()
    return text[:_TEXT_SNIPPET] if text else response.reason_phrase or "no details given"


def error_for(response: httpx.Response, *, operation: str) -> MarketplaceError:
    """The typed error for a non-2xx answer to ``operation`` (e.g. "GET /orders"); logged."""
    status, said, cid = response.status_code, vendor_message(response), correlation_id(response)
    kind: type[MarketplaceError]
    if status == 404:
        kind, what = NotFound, "not found"
    elif status == 403:
        kind, what = AccessDenied, "access denied"
    elif status == 401:
        kind, what = SessionRejected, "the marketplace refused the session token"
    elif status == 429 or status >= 500:
        kind, what = MarketplaceUnreachable, "marketplace unreachable"
    else:
        kind, what = RequestRejected, "the marketplace rejected the request"
    error = kind(
        f"{what}: {operation} answered {status}: {said}", status=status, correlation_id=cid
    )
    log_error(error, operation=operation)
    return error


def log_error(error: MarketplaceError, *, operation: str) -> None:
    """Log a failed call with its correlation id, which the vendor's support asks for."""
    log.warning(
        "marketplace call %s failed: %s [X-Correlation-ID %s]",
        operation,
        error.message,
        error.correlation_id or "none",
    )
