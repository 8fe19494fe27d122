"""One FastAPI app per marketplace of the fixture, each seeing only its own resellers.

Every answer — errors included — carries an ``X-Correlation-ID`` (a fresh UUID), as the real
gateway's do. Errors, including unknown paths and unreadable query parameters, answer in the
emulator's error shape (:func:`marketplace_error_body`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from psasync.sandbox.marketplace.access import Access
from psasync.sandbox.marketplace.errors import ApiError, marketplace_error_body
from psasync.sandbox.marketplace.fixture import MarketplaceFixture
from psasync.sandbox.marketplace.routes import router
from psasync.sandbox.marketplace.state import MarketplaceData, TokenStore

DEFAULT_TOKEN_LIFETIME_SECONDS = 1500


class CorrelationIdMiddleware:
    """Adds a fresh ``X-Correlation-ID`` to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation = str(uuid.uuid4()).encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-correlation-id", correlation)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def error_response(status: int, message: str) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(
        marketplace_error_body(status, message),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _api_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)  # noqa: S101 - registered for ApiError only
    return error_response(error.status, error.message)


def _http_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)  # noqa: S101 - registered for HTTPException only
    return error_response(error.status_code, str(error.detail))


def _invalid_request(_request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)  # noqa: S101 - registered for it only
    problems = []
    for problem in error.errors():
        where = " ".join(str(part) for part in problem["loc"])
        problems.append(f"{where}: {problem['msg']}")
    return error_response(400, "; ".join(problems) or "invalid request")


def create_marketplace_app(data: MarketplaceData, *, tokens: TokenStore) -> FastAPI:
    """The emulated SimpleAPI of one marketplace."""
    app = FastAPI(
        title=f"Cloud Marketplace sandbox ({data.marketplace.code})",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.marketplace = Access(data=data, tokens=tokens)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_middleware(CorrelationIdMiddleware)
    app.include_router(router)
    return app


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_marketplace_apps(
    fixture: MarketplaceFixture,
    *,
    token_lifetime_seconds: int = DEFAULT_TOKEN_LIFETIME_SECONDS,
    clock: Callable[[], dt.datetime] | None = None,
) -> dict[str, FastAPI]:
    """One app per marketplace code, each with its own token store and a fresh state.

    ``clock`` decides token expiry (tests move it forward); the wall clock by default.
    """
    now = clock or _utc_now
    return {
        marketplace.code: create_marketplace_app(
            MarketplaceData.of(fixture, marketplace),
            tokens=TokenStore(lifetime_seconds=token_lifetime_seconds, clock=now),
        )
        for marketplace in fixture.marketplaces
    }
