"""Every error the API answers is ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from psasync.services.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotAuthenticated,
    NotFound,
    ServiceError,
    UpstreamFailed,
)

log = logging.getLogger(__name__)

STATUS_OF: dict[type[ServiceError], int] = {
    BadRequest: 400,
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    UpstreamFailed: 502,
}

_HTTP_CODES = {
    400: "BadRequest",
    401: "NotAuthenticated",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    415: "UnsupportedMediaType",
    422: "Invalid",
}


def envelope(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message, "details": details}},
    )


def status_of(error: ServiceError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


# Renders an error for a page (not under /api): (request, status, title, message) → response.
PageErrorRenderer = Callable[[Request, int, str, str], Response]
_TITLES = {
    400: "That request could not be read",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "That cannot be done now",
    422: "That could not be saved",
    500: "Something went wrong",
    502: "A connected service did not answer",
}


def _page(request: Request) -> PageErrorRenderer | None:
    """The page renderer, for a request that is not an API call."""
    if request.url.path.startswith("/api/"):
        return None
    renderer: PageErrorRenderer | None = getattr(request.app.state, "page_error", None)
    return renderer


def _answer(
    request: Request, status: int, code: str, message: str, details: Any = None
) -> Response:
    renderer = _page(request)
    if renderer is not None:
        return renderer(request, status, _TITLES.get(status, "Error"), message)
    return envelope(status, code, message, details)


async def service_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ServiceError)  # noqa: S101 - registered for this class only
    return _answer(request, status_of(error), error.code, error.message, error.details)


async def validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)  # noqa: S101
    problems = [
        {
            "field": ".".join(str(part) for part in problem["loc"] if part != "body"),
            "code": problem["type"],
            "message": problem["msg"],
        }
        for problem in error.errors()
    ]
    summary = "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems)
    if _page(request) is not None:
        # A person reads this: no framework wording, no internal field paths.
        return _answer(request, 422, "InvalidRequest", _in_words(error.errors()))
    return _answer(
        request,
        422,
        "InvalidRequest",
        f"The request is not valid: {summary}",
        {"fieldErrors": problems},
    )


def _in_words(problems: Sequence[Any]) -> str:
    if any(problem["loc"] and problem["loc"][0] == "path" for problem in problems):
        return "That address does not name anything psasync knows: check the link."
    fields = sorted({str(problem["loc"][-1]) for problem in problems if problem["loc"]})
    if not fields:
        return "Some values could not be read; go back and try again."
    names = ", ".join(_readable(field) for field in fields)
    return f"Some values could not be read ({names}); go back and check them."


def _readable(field: str) -> str:
    """``taskId`` or ``task_id`` → "task id"."""
    spaced = "".join(f" {c.lower()}" if c.isupper() else c for c in field).replace("_", " ")
    return spaced.strip()


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)  # noqa: S101
    code = _HTTP_CODES.get(error.status_code, "Error")
    message = str(error.detail)
    if error.status_code == 404 and _page(request) is not None:
        message = "There is no page at this address."
    return _answer(request, error.status_code, code, message)


async def unexpected_error(request: Request, error: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return _answer(
        request, 500, "InternalError", "Something went wrong on our side; it has been logged."
    )


def install(app: FastAPI, *, page_error: PageErrorRenderer | None = None) -> None:
    """Error answers: the JSON envelope under /api, pages rendered by ``page_error`` elsewhere."""
    app.state.page_error = page_error
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
