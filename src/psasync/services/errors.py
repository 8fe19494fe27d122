"""What a use case refuses, in words for the reseller and codes for programs.

Each error carries a stable ``code`` and optional ``details``; the web layer maps the class to
an HTTP status (DESIGN.md §4: 400/401/403/404/409/422/502), the CLI prints the message.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refused request; ``details`` is JSON-ready (field errors, reasons, ids)."""

    code = "Error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.details = details


class BadRequest(ServiceError):
    code = "BadRequest"


class NotAuthenticated(ServiceError):
    code = "NotAuthenticated"


class Forbidden(ServiceError):
    code = "Forbidden"


class NotFound(ServiceError):
    code = "NotFound"


class Conflict(ServiceError):
    code = "Conflict"


class Invalid(ServiceError):
    """The request is well-formed but cannot be carried out as asked; nothing was written."""

    code = "Invalid"


class UpstreamFailed(ServiceError):
    """A vendor API failed or refused; ``details.vendor`` says which."""

    code = "UpstreamFailed"


class CustomerNotMapped(Invalid):
    """The task's marketplace customer has no ConnectWise company yet: map it, then plan."""

    code = "CustomerNotMapped"
