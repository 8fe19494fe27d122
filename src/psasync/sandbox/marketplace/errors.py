"""The emulator's error answers.

SimpleAPI 1.15 defines no error schema. The emulator answers ``{"error": <HTTP reason>,
"message": <what went wrong>}``, the shape the platform's gateway uses for its own errors, with
an ``X-Correlation-ID`` like every other answer.
"""

from __future__ import annotations

import json
from http import HTTPStatus


class ApiError(Exception):
    """An error answer: HTTP status and a message for the body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def marketplace_error_body(status: int, message: str) -> bytes:
    """The JSON body of an error answer (also used by the fault injection for 429/503)."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return json.dumps({"error": reason, "message": message}).encode()
