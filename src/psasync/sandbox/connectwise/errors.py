"""The vendor's error answers: ``{"code", "message", "errors": [{code, message, resource,
field}]}``.

Codes follow what ConnectWise sends: ``InvalidObject`` with per-field errors for a bad object,
``NotFound``, ``Unauthorized``, and the generic ``ConnectWiseApi`` for a request it cannot read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

GENERIC = "ConnectWiseApi"


@dataclass(frozen=True)
class FieldProblem:
    """One per-field error: ``code`` is Required, InvalidField, MaxLengthField, NotFound…"""

    code: str
    field: str
    message: str

    def to_json(self, resource: str) -> dict[str, str]:
        return {
            "code": self.code,
            "message": self.message,
            "resource": resource,
            "field": self.field,
        }


class VendorError(Exception):
    """An answer in the vendor's error shape; raised anywhere, rendered by the app."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            self.body["errors"] = errors
        self.headers = headers or {}


def bad_request(message: str) -> VendorError:
    """A request the API cannot read (query, JSON, patch document)."""
    return VendorError(400, GENERIC, message)


def not_found(message: str) -> VendorError:
    return VendorError(404, "NotFound", message)


def invalid_object(resource: str, problems: list[FieldProblem]) -> VendorError:
    """400 InvalidObject naming every field that is wrong."""
    return VendorError(
        400,
        "InvalidObject",
        f"{resource} object is invalid",
        errors=[problem.to_json(resource) for problem in problems],
    )


def connectwise_error_body(status: int, message: str) -> bytes:
    """The vendor's error JSON for an injected fault (429, 503); used by FaultMiddleware."""
    del status  # ConnectWise uses its generic code for throttling and outages alike
    return json.dumps({"code": GENERIC, "message": message}).encode()
