"""What both vendor clients share: the retry policy and the transient-failure rules.

DESIGN.md §5 sorts failures into retriable (429, 5xx, timeouts, dropped connections: backoff with
jitter, honouring ``Retry-After``) and fatal (every other 4xx). A request is retried only when
repeating it cannot do anything twice:

- a 429 was refused before the vendor acted on it, and a connection that never opened carried
  nothing, so any request may be sent again after them;
- after a 5xx, a timeout or a connection dropped mid-answer the outcome is unknown, so only reads
  and idempotent writes are repeated. A create raises :class:`OutcomeUnknown` instead, and its
  caller first looks for what it may already have written (DESIGN.md §3, idempotency keys).

A 429 is about the host, not the request: ConnectWise sits behind a rate limiter that refuses
every caller from this process once it is over the limit. So a 429 pauses the whole host
(:class:`HostBackoff`, shared by every request made with the same policy): requests about to be
sent wait out the ``Retry-After`` together instead of each spending an attempt on a refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx

log = logging.getLogger(__name__)

RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class AdapterError(Exception):
    """A vendor API call that failed; ``vendor`` names the system, for messages and logs."""

    def __init__(
        self, message: str, *, vendor: str, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.status = status
        self.code = code


class Unreachable(AdapterError):
    """The vendor did not answer usefully even after retrying: down, overloaded or timing out."""


class OutcomeUnknown(AdapterError):
    """A non-idempotent request failed in a way that leaves open whether the vendor acted on it."""


class VendorNotFound(AdapterError):
    """The vendor does not know the object asked for (or the caller may not see it)."""


class HostBackoff:
    """The hosts that answered 429 and are being waited out, shared by every request made with
    one policy: while any request sits out a host's ``Retry-After``, no other request to that
    host is sent; they all go on when the last pause ends.

    Waiting is an event, not a clock, so a test's instant ``sleep`` ends the pause for all.
    """

    def __init__(self) -> None:
        self._pausing: dict[str, int] = {}
        self._resumed: dict[str, asyncio.Event] = {}

    async def clear(self, host: str) -> None:
        """Return once ``host`` is not paused (at once when it is not)."""
        while (resumed := self._resumed.get(host)) is not None:
            await resumed.wait()

    @contextlib.asynccontextmanager
    async def paused(self, host: str) -> AsyncIterator[None]:
        """Pause ``host`` for as long as the block runs (it sleeps the ``Retry-After``)."""
        self._pausing[host] = self._pausing.get(host, 0) + 1
        self._resumed.setdefault(host, asyncio.Event())
        try:
            yield
        finally:
            self._pausing[host] -= 1
            if not self._pausing[host]:
                del self._pausing[host]
                # Dropped once set: an event belongs to one event loop, a policy may outlive it.
                self._resumed.pop(host).set()


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter, and a pause per host after a 429.

    ``sleep`` and ``rng`` are injectable so tests run instantly and deterministically.
    ``max_retry_after`` caps a vendor's ``Retry-After``: a sync waits, but not for hours.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    hosts: HostBackoff = field(default_factory=HostBackoff, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"a retry policy needs at least one attempt, not {self.attempts}")

    def delay(self, *, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return self.rng.uniform(0, ceiling)


def retry_after_seconds(
    response: httpx.Response, *, now: Callable[[], dt.datetime] | None = None
) -> float | None:
    """The ``Retry-After`` header in seconds (delta-seconds or HTTP-date), None if absent/bad."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    current = now() if now else dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())


def _describe(error: httpx.HTTPError) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


async def send_with_retries(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    policy: RetryPolicy,
    idempotent: bool,
    vendor: str,
) -> httpx.Response:
    """Send ``request``, retrying transient failures as the module docstring describes.

    Returns the final response, which may still be a retriable status once the attempts are
    spent (the caller maps it to an error with the vendor's message). Raises
    :class:`Unreachable` when no answer came at all, and :class:`OutcomeUnknown` when a
    non-idempotent request may or may not have been applied.
    """
    host = _host(request, vendor)
    for attempt in range(1, policy.attempts + 1):
        last = attempt == policy.attempts
        await policy.hosts.clear(host)
        try:
            # A vendor never legitimately redirects an API call; following one could hand the
            # credentials to another host.
            response = await client.send(request, follow_redirects=False)
        except httpx.ConnectError as error:
            if last:
                raise Unreachable(
                    f"{vendor} is unreachable: {_describe(error)}", vendor=vendor
                ) from error
            await _pause(policy, attempt, f"{request.method} {request.url}", error)
            continue
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as error:
            if not idempotent:
                raise OutcomeUnknown(
                    f"{vendor} did not confirm {request.method} {request.url.path}: "
                    f"{_describe(error)}",
                    vendor=vendor,
                ) from error
            if last:
                raise Unreachable(
                    f"{vendor} did not answer {request.method} {request.url.path} after "
                    f"{policy.attempts} attempts: {_describe(error)}",
                    vendor=vendor,
                ) from error
            await _pause(policy, attempt, f"{request.method} {request.url}", error)
            continue
        if response.status_code not in RETRIABLE_STATUSES or last:
            return response
        if response.status_code != 429 and not idempotent:
            await response.aread()
            raise OutcomeUnknown(
                f"{vendor} answered {response.status_code} to {request.method} "
                f"{request.url.path}; it may or may not have acted on it",
                vendor=vendor,
                status=response.status_code,
            )
        await response.aread()
        if response.status_code == 429:
            await _pause_host(policy, request, response, attempt=attempt, vendor=vendor)
            continue
        await _pause(policy, attempt, f"{request.method} {request.url}", response.status_code)
    raise AssertionError("unreachable: the loop returns or raises on its last attempt")


def _host(request: httpx.Request, vendor: str) -> str:
    """What a 429 pauses: this vendor's API on this host. A vendor's rate limit is its own; a
    host serving two vendors' APIs (as the sandboxes do) pauses only the one that refused."""
    return f"{vendor} {request.url.netloc.decode('ascii')}"


async def _pause_host(
    policy: RetryPolicy,
    request: httpx.Request,
    response: httpx.Response,
    *,
    attempt: int,
    vendor: str,
) -> None:
    """A 429: wait its ``Retry-After`` (or the backoff), and let no request to the host out
    meanwhile."""
    delay = policy.delay(attempt=attempt, retry_after=retry_after_seconds(response))
    host = _host(request, vendor)
    log.warning(
        "%s refused %s %s with 429: every request to %s waits %.2fs",
        vendor,
        request.method,
        request.url,
        host,
        delay,
    )
    async with policy.hosts.paused(host):
        await policy.sleep(delay)


async def _pause(policy: RetryPolicy, attempt: int, what: str, why: object) -> None:
    delay = policy.delay(attempt=attempt, retry_after=None)
    log.warning("retrying %s in %.2fs (attempt %d failed: %s)", what, delay, attempt, why)
    await policy.sleep(delay)
