"""Autotask's request limits, as ASGI middleware in front of the emulator.

- **Thread limit**: at most ``thread_limit`` (3) requests in flight per integration code
  (``ApiIntegrationCode`` header) × entity endpoint (``Contracts``, ``Contracts/Services``,
  ``ContractServiceUnits``…). A request over it is answered at once with HTTP 500
  ``{"errors": ["…Itgenatr005…"]}``. It is real accounting of requests in flight: a request
  counts from the moment it arrives until its answer is sent (or it fails, or its client goes),
  so the latency fault, which sits inside, holds a slot while it waits.
- **Hourly request budget**: ``request_threshold`` (10,000) requests per rolling hour for the
  whole database, every integration together. Past it, every request is refused with HTTP 429,
  ``Retry-After`` (seconds until the oldest counted request leaves the window) and
  ``{"errors": [...]}`` until usage drops. Refused requests are not counted.
  ``GET /v1.0/ThresholdInformation`` reads the counter (and counts itself).

``zoneInformation`` and the version endpoints are exempt from both (they are served by the
global zone host at the vendor). Both limits can be changed while the sandbox runs.
"""

from __future__ import annotations

import collections
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from psasync.sandbox.faults import CallCounter, request_path

API_ROOT = "/v1.0/"
HOUR = 3600.0
EXEMPT = {"zoneinformation", "version", "versioninformation"}
THREAD_LIMIT_ERROR = "Itgenatr005"


@dataclass
class LimitSettings:
    thread_limit: int = 3
    request_threshold: int = 10_000


class RequestLimits:
    """The in-flight counters and the rolling hour's request times; safe across threads."""

    def __init__(
        self,
        settings: LimitSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or LimitSettings()
        self.clock = clock
        self._lock = threading.Lock()
        self._in_flight: collections.Counter[tuple[str, str]] = collections.Counter()
        self._requests: collections.deque[float] = collections.deque()
        self.refused_threads = 0

    def configure(self, *, thread_limit: int | None = None, threshold: int | None = None) -> None:
        with self._lock:
            if thread_limit is not None:
                self.settings.thread_limit = thread_limit
            if threshold is not None:
                self.settings.request_threshold = threshold

    def reset_budget(self) -> None:
        with self._lock:
            self._requests.clear()

    def in_flight(self, code: str | None = None) -> dict[tuple[str, str], int]:
        with self._lock:
            return {key: n for key, n in self._in_flight.items() if n and code in (None, key[0])}

    def used(self) -> int:
        """Requests counted in the current rolling hour."""
        with self._lock:
            self._expire()
            return len(self._requests)

    def _expire(self) -> None:
        horizon = self.clock() - HOUR
        while self._requests and self._requests[0] <= horizon:
            self._requests.popleft()

    def spend(self) -> float | None:
        """Count one request; when the budget is spent, the seconds to wait instead."""
        with self._lock:
            self._expire()
            if len(self._requests) >= self.settings.request_threshold:
                oldest = self._requests[0] if self._requests else self.clock()
                return max(oldest + HOUR - self.clock(), 0.0)
            self._requests.append(self.clock())
            return None

    def enter(self, key: tuple[str, str]) -> bool:
        with self._lock:
            if self._in_flight[key] >= self.settings.thread_limit:
                self.refused_threads += 1
                return False
            self._in_flight[key] += 1
            return True

    def leave(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._in_flight[key] -= 1
            if self._in_flight[key] <= 0:
                del self._in_flight[key]


def endpoint_of(path: str) -> str | None:
    """The entity endpoint a path addresses (``Contracts/Services`` for a child collection),
    or None for paths outside ``/v1.0/`` and the exempt ones."""
    at = path.lower().find(API_ROOT)
    if at < 0:
        return None
    parts = [p for p in path[at + len(API_ROOT) :].split("/") if p]
    if not parts or parts[0].lower() in EXEMPT:
        return None
    if len(parts) >= 3 and parts[1].isdigit() and parts[2].lower() not in {"query"}:
        return f"{parts[0]}/{parts[2]}"
    return parts[0]


class LimitMiddleware:
    """Refuses requests over the thread limit or the hourly budget; counts those it refuses
    in ``calls`` (those it lets through are counted by the fault middleware inside)."""

    def __init__(self, app: ASGIApp, *, limits: RequestLimits, calls: CallCounter) -> None:
        self.app = app
        self.limits = limits
        self.calls = calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = request_path(scope)
        endpoint = endpoint_of(path)
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        wait = self.limits.spend()
        if wait is not None:
            self.calls.record(scope["method"], path)
            threshold = self.limits.settings.request_threshold
            message = (
                f"The request threshold of {threshold} requests per hour has been exceeded; "
                "API requests are refused until usage drops below it."
            )
            await _answer(send, 429, message, [(b"retry-after", str(math.ceil(wait)).encode())])
            return
        key = (_header(scope, b"apiintegrationcode"), endpoint.lower())
        if not self.limits.enter(key):
            self.calls.record(scope["method"], path)
            limit = self.limits.settings.thread_limit
            message = (
                f"{THREAD_LIMIT_ERROR}: the thread limit of {limit} concurrent requests for "
                f"this integration on the {endpoint} endpoint has been reached. "
                "Retry the request later."
            )
            await _answer(send, 500, message, [])
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.limits.leave(key)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


async def _answer(
    send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps({"errors": [message]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
