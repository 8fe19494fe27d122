"""ConnectWise failures as typed exceptions carrying the vendor's code, message and field errors.

The vendor's error body is ``{"code": "InvalidObject", "message": "addition object is invalid",
"errors": [{"code", "message", "resource", "field"}]}``. Messages never contain credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from psasync.adapters import jsonio
from psasync.adapters.connectwise.site import VENDOR
from psasync.adapters.http import RETRIABLE_STATUSES, AdapterError, Unreachable, VendorNotFound


@dataclass(frozen=True)
class FieldError:
    """One entry of the vendor's ``errors`` list: what is wrong with which field."""

    code: str
    message: str
    resource: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ConnectWiseError(AdapterError):
    """ConnectWise refused a request; ``code`` and ``errors`` are the vendor's own."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        code: str | None = None,
        errors: Sequence[FieldError] = (),
    ) -> None:
        super().__init__(message, vendor=VENDOR, status=status, code=code)
        self.errors = tuple(errors)


class ConnectWiseAuthError(ConnectWiseError):
    """401 (keys not accepted) or 403 (the API member's security role forbids it)."""


class ConnectWiseNotFound(ConnectWiseError, VendorNotFound):
    """404: the object or path does not exist (or the member may not see it)."""


class ConnectWiseInvalid(ConnectWiseError):
    """400: the request or the object in it is invalid; ``errors`` names the fields."""


class ConnectWiseDataError(ConnectWiseError):
    """ConnectWise answered with data psasync cannot use (not JSON, a value out of range…)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=None, code="UnusableData")


@dataclass(frozen=True)
class VendorErrorBody:
    """What could be read of an error answer's body."""

    code: str | None
    message: str
    errors: tuple[FieldError, ...]


def read_error_body(response: httpx.Response) -> VendorErrorBody:
    """The vendor error body; a body that is not one (a proxy's HTML page) gives the reason."""
    try:
        body: Any = jsonio.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return VendorErrorBody(code=None, message=response.reason_phrase, errors=())
    code = body.get("code") if isinstance(body.get("code"), str) else None
    message = body.get("message") if isinstance(body.get("message"), str) else None
    return VendorErrorBody(
        code=code,
        message=message or response.reason_phrase,
        errors=tuple(_field_errors(body.get("errors"))),
    )


def _field_errors(entries: object) -> list[FieldError]:
    if not isinstance(entries, list):
        return []
    found = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        found.append(
            FieldError(
                code=str(entry.get("code") or ""),
                message=str(entry.get("message") or ""),
                resource=_text(entry.get("resource")),
                field=_text(entry.get("field")),
            )
        )
    return found


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def error_from_response(response: httpx.Response, *, what: str) -> AdapterError:
    """The exception for a failed answer to ``what`` (e.g. ``"GET /finance/agreements"``)."""
    body = read_error_body(response)
    status = response.status_code
    said = f"{status} {body.code or response.reason_phrase}: {body.message}"
    if status == 401:
        return ConnectWiseAuthError(
            f"ConnectWise did not accept the API member's keys ({said}). Check the company id, "
            "the public and private keys and that the API member is active.",
            status=status,
            code=body.code,
        )
    if status == 403:
        return ConnectWiseAuthError(
            f"ConnectWise refused {what} ({said}). Check that the API member's security role "
            "allows it (Finance > Agreements, Procurement > Product Catalog, Companies).",
            status=status,
            code=body.code,
        )
    if status in RETRIABLE_STATUSES:
        return Unreachable(
            f"ConnectWise could not answer {what} even after retrying ({said})",
            vendor=VENDOR,
            status=status,
            code=body.code,
        )
    details = "; ".join(str(error) for error in body.errors)
    message = f"ConnectWise refused {what} ({said})" + (f": {details}" if details else "")
    kind = {404: ConnectWiseNotFound, 400: ConnectWiseInvalid}.get(status, ConnectWiseError)
    return kind(message, status=status, code=body.code, errors=body.errors)
