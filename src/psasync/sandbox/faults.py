"""Fault injection and call counting for the sandboxes, as ASGI middleware.

Reliability tests and benchmarks switch faults on per run: added latency, a share of 429s with
``Retry-After``, a share of 5xx answers, a share of dropped connections and a share of late
applies. Every request the emulators receive is counted by method and path so tests and
benchmarks can read how many calls a use case made.

A 429 or 5xx is answered *before* the emulator sees the request. A dropped connection is the
harder case: the emulator handles the request (a create is stored) and the connection is then cut
mid-answer, so the client cannot know whether it was applied. That is exactly what an idempotent
client must survive without writing twice.

A refusal is the plainest partial failure: after ``refuse_after`` matching requests pass, the
next ``refuse_count`` are answered 400 with the vendor's validation error, before the emulator
sees them. A 400 is definitive (never retried, nothing unknown), so a sync whose second write is
refused stops part-way at once: what a browser test needs to show a part-written sync without
waiting out the quiet period an unknown outcome is looked for over.

A late apply is the hardest: the request is held for ``late_apply_seconds`` and only then handed
to the emulator, whether or not the client is still waiting (a slow vendor behind a proxy that
has already timed the client out). A client that gives up and looks straight away finds nothing;
the write lands afterwards anyway.
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
logger = logging.getLogger(__name__)


class FaultSettings(BaseModel):
    """What to inject, for requests whose path starts with ``path_prefix`` and whose method is in
    ``methods`` (all methods when empty)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: Annotated[int, Field(ge=0, le=60_000)] = 0
    rate_429: Share = 0
    retry_after_seconds: Annotated[int, Field(ge=0, le=3600)] = 1
    rate_5xx: Share = 0
    rate_drop: Share = 0
    rate_late: Share = 0
    late_apply_seconds: Annotated[float, Field(ge=0, le=600)] = 5.0
    # The next ``late_apply_count`` matching requests are held, before any share is drawn: the
    # deterministic switch for tests. Counted down from each ``configure``.
    late_apply_count: Annotated[int, Field(ge=0)] = 0
    # After ``refuse_after`` matching requests pass, the next ``refuse_count`` are refused with
    # a definitive 400; before the late applies and the shares. Counted from each ``configure``.
    refuse_after: Annotated[int, Field(ge=0)] = 0
    refuse_count: Annotated[int, Field(ge=0)] = 0
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

    @property
    def injected(self) -> dict[str, int]:
        """Faults drawn since the last ``configure``, by kind ("429", "5xx", "drop"…)."""
        with self._lock:
            return dict(self._injected)

    @property
    def late_applies_left(self) -> int:
        """How many of the ``late_apply_count`` requests are still to be held."""
        return self._late_left

    def configure(self, settings: FaultSettings) -> None:
        with self._lock:
            self._settings = settings
            self._late_left = settings.late_apply_count
            self._passes_left = settings.refuse_after
            self._refusals_left = settings.refuse_count
            self._injected: Counter[str] = Counter()
            self._rng = random.Random(settings.seed)  # noqa: S311 - test faults, not secrets

    def applies_to(self, method: str, path: str) -> bool:
        settings = self._settings
        return path.startswith(settings.path_prefix) and (
            not settings.methods or method in settings.methods
        )

    def draw(self) -> str | None:
        """Which fault hits the next request: "400", "429", "5xx", "drop", "late" or None (at
        most one).

        A due refusal wins first, then a pending ``late_apply_count``, both without a draw;
        otherwise one roll is shared out between the rates in that order, so adding
        ``rate_late`` leaves the others' seeded sequences as they were.
        """
        settings = self._settings
        with self._lock:
            if self._refusals_left > 0:
                if self._passes_left > 0:
                    self._passes_left -= 1
                else:
                    self._refusals_left -= 1
                    self._injected["400"] += 1
                    return "400"
            if self._late_left > 0:
                self._late_left -= 1
                self._injected["late"] += 1
                return "late"
            roll = self._rng.random()
            shares = (
                ("429", settings.rate_429),
                ("5xx", settings.rate_5xx),
                ("drop", settings.rate_drop),
                ("late", settings.rate_late),
            )
            for fault, share in shares:
                if roll < share:
                    self._injected[fault] += 1
                    return fault
                roll -= share
        return None


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
        # Held requests run detached from the request that brought them; the event loop keeps
        # only weak references to tasks, so these strong ones keep a held write alive.
        self._held: set[asyncio.Task[list[Message]]] = set()

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
        if fault == "400":
            await self._answer(
                send, 400, "This write was refused (a fault injected in the sandbox).", []
            )
        elif fault == "429":
            headers = [(b"retry-after", str(settings.retry_after_seconds).encode())]
            await self._answer(send, 429, "Too many requests: slow down", headers)
        elif fault == "5xx":
            await self._answer(send, 503, "The service is temporarily unavailable", [])
        elif fault == "drop":
            await self._cut_short(scope, receive, send, path)
        elif fault == "late":
            await self._apply_late(scope, receive, send, settings.late_apply_seconds)
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

    async def _apply_late(self, scope: Scope, receive: Receive, send: Send, seconds: float) -> None:
        body = await _read_body(receive)
        if body is None:
            return  # the client left before it finished sending: nothing to apply
        task = asyncio.create_task(self._held_request(dict(scope), body, seconds))
        self._held.add(task)
        task.add_done_callback(self._held.discard)
        try:
            # Shielded: a client that gives up in-process (a cancelled request) cancels only
            # this wait, never the held write. Over a socket the server just stops listening.
            messages = await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(_log_failure)  # nobody is left to see it fail
            raise
        for message in messages:
            await send(message)

    async def _held_request(self, scope: Scope, body: bytes, seconds: float) -> list[Message]:
        await asyncio.sleep(seconds)
        messages: list[Message] = []
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                # What a server says once the request has been answered.
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def collect(message: Message) -> None:
            messages.append(message)

        await self.app(scope, replay, collect)
        return messages


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client disconnected before sending it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _log_failure(task: asyncio.Task[list[Message]]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("a late-applied request failed", exc_info=task.exception())
