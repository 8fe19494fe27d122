"""Fault injection and call counting for the sandboxes, as ASGI middleware.

Reliability tests and benchmarks switch faults on per run: added latency, a share of 429s with
``Retry-After``, a share of 5xx answers, and a share of dropped connections. Every request the
emulators receive is counted by method and path so tests and benchmarks can read how many calls
a use case made.

A 429 or 5xx is answered *before* the emulator sees the request. A dropped connection is the
harder case: the emulator handles the request (a create is stored) and the connection is then cut
mid-answer, so the client cannot know whether it was applied. That is exactly what an idempotent
client must survive without writing twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Share = Annotated[float, Field(ge=0, le=1)]
ErrorBody = Callable[[int, str], bytes]
Headers = list[tuple[bytes, bytes]]


class FaultSettings(BaseModel):
    """What to inject, for requests whose path starts with ``path_prefix`` and whose method is in
    ``methods`` (all methods when empty)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: Annotated[int, Field(ge=0, le=60_000)] = 0
    rate_429: Share = 0
    retry_after_seconds: Annotated[int, Field(ge=0, le=3600)] = 1
    rate_5xx: Share = 0
    rate_drop: Share = 0
    path_prefix: str = ""
    methods: frozenset[str] = frozenset()
    seed: int | None = None


class DroppedConnection(httpx.RemoteProtocolError):
    """Raised by the middleware after cutting an answer short.

    Over a real server the connection closes mid-body and the client sees httpx's
    ``RemoteProtocolError``. In-process, ``httpx.ASGITransport`` re-raises an app's exception
    as is, so raising that same error type shows in-process clients what a wire client sees.
    """

    def __init__(self, path: str) -> None:
        super().__init__(f"sandbox dropped the connection while answering {path}")


class _HideDroppedConnections(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, DroppedConnection)


def hide_dropped_connection_tracebacks() -> None:
    """Keep uvicorn from logging a traceback for each connection the sandbox cuts on purpose."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDroppedConnections) for f in logger.filters):
        logger.addFilter(_HideDroppedConnections())


class FaultInjector:
    """The current fault settings, switchable while the sandbox runs, and its random source."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(settings or FaultSettings())

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def configure(self, settings: FaultSettings) -> None:
        with self._lock:
            self._settings = settings
            self._rng = random.Random(settings.seed)  # noqa: S311 - test faults, not secrets

    def applies_to(self, method: str, path: str) -> bool:
        settings = self._settings
        return path.startswith(settings.path_prefix) and (
            not settings.methods or method in settings.methods
        )

    def draw(self) -> str | None:
        """Which fault hits the next request: "429", "5xx", "drop" or None."""
        settings = self._settings
        with self._lock:
            roll = self._rng.random()
        for fault, share in (("429", settings.rate_429), ("5xx", settings.rate_5xx)):
            if roll < share:
                return fault
            roll -= share
        return "drop" if roll < settings.rate_drop else None


class CallCounter:
    """Requests received, by (method, path). Safe to read from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, str]] = Counter()

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self._calls[(method, path)] += 1

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._calls)

    def total(self, *, method: str | None = None, prefix: str = "") -> int:
        """Calls whose path starts with ``prefix``, of ``method`` if given."""
        return sum(
            count
            for (called_method, path), count in self.snapshot().items()
            if path.startswith(prefix) and method in (None, called_method)
        )

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()


def request_path(scope: Scope) -> str:
    """The full request path, also inside a mounted sub-application."""
    raw = scope.get("raw_path")
    if raw:
        return bytes(raw).decode("latin-1").split("?", 1)[0]
    return str(scope.get("root_path", "")) + str(scope["path"])


class FaultMiddleware:
    """Counts each request, then injects the configured faults before or after the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        faults: FaultInjector,
        calls: CallCounter,
        error_body: ErrorBody,
        answer_headers: Callable[[], Headers] = list,
    ) -> None:
        """``error_body`` and ``answer_headers`` make injected answers look like the vendor's
        own (its error JSON; headers it sends on every answer, such as a correlation id)."""
        self.app = app
        self.faults = faults
        self.calls = calls
        self.error_body = error_body
        self.answer_headers = answer_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], request_path(scope)
        self.calls.record(method, path)
        if not self.faults.applies_to(method, path):
            await self.app(scope, receive, send)
            return
        settings = self.faults.settings
        if settings.latency_ms:
            await asyncio.sleep(settings.latency_ms / 1000)
        fault = self.faults.draw()
        if fault == "429":
            headers = [(b"retry-after", str(settings.retry_after_seconds).encode())]
            await self._answer(send, 429, "Too many requests: slow down", headers)
        elif fault == "5xx":
            await self._answer(send, 503, "The service is temporarily unavailable", [])
        elif fault == "drop":
            await self._cut_short(scope, receive, send, path)
        else:
            await self.app(scope, receive, send)

    async def _answer(self, send: Send, status: int, message: str, headers: Headers) -> None:
        body = self.error_body(status, message)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *self.answer_headers(),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _cut_short(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, keep)
        start = next(m for m in messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        headers: list[Any] = [h for h in start["headers"] if h[0].lower() != b"content-length"]
        headers.append((b"content-length", str(len(body) + 1).encode()))
        await send({**start, "headers": headers})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        raise DroppedConnection(path)
