"""The shared retry rules: what is retried, how long it waits, and what is never repeated."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Callable

import httpx
import pytest

from psasync.adapters.http import (
    OutcomeUnknown,
    RetryPolicy,
    Unreachable,
    retry_after_seconds,
    send_with_retries,
)

pytestmark = pytest.mark.anyio


class Script:
    """A transport that plays a list of outcomes, one per request, and counts the requests."""

    def __init__(self, *outcomes: int | type[httpx.RequestError] | tuple[int, dict[str, str]]):
        self.outcomes = list(outcomes)
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, type):
            raise outcome("scripted failure", request=request)
        status, headers = outcome if isinstance(outcome, tuple) else (outcome, {})
        return httpx.Response(status, headers=headers, json={"status": status})


def policy(delays: list[float], *, attempts: int = 4) -> RetryPolicy:
    async def record(seconds: float) -> None:
        delays.append(seconds)

    return RetryPolicy(attempts=attempts, sleep=record, rng=random.Random(7))


async def send(
    script: Script, *, method: str = "GET", idempotent: bool = True, attempts: int = 4
) -> tuple[httpx.Response, list[float]]:
    delays: list[float] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
        request = client.build_request(method, "https://vendor.test/things")
        response = await send_with_retries(
            client,
            request,
            policy=policy(delays, attempts=attempts),
            idempotent=idempotent,
            vendor="Vendor",
        )
    return response, delays


async def test_a_429_waits_as_long_as_retry_after_says() -> None:
    script = Script((429, {"Retry-After": "3"}), 200)
    response, delays = await send(script)
    assert (response.status_code, delays, script.requests) == (200, [3.0], 2)


async def test_5xx_is_retried_with_capped_jittered_backoff() -> None:
    script = Script(503, 502, 500, 200)
    response, delays = await send(script)
    assert response.status_code == 200
    assert len(delays) == 3
    assert all(0 <= delay <= 0.5 * 2**n for n, delay in enumerate(delays))


async def test_the_last_retriable_answer_is_returned_for_the_caller_to_report() -> None:
    response, delays = await send(Script(503, 503), attempts=2)
    assert response.status_code == 503 and len(delays) == 1


async def test_fatal_4xx_is_not_retried() -> None:
    script = Script(400, 200)
    response, delays = await send(script)
    assert (response.status_code, delays, script.requests) == (400, [], 1)


async def test_timeouts_of_reads_are_retried_then_reported_unreachable() -> None:
    script = Script(httpx.ReadTimeout, httpx.ReadTimeout)
    with pytest.raises(Unreachable, match="did not answer GET /things after 2 attempts"):
        await send(script, attempts=2)
    assert script.requests == 2


async def test_a_refused_connection_is_unreachable_after_the_attempts() -> None:
    script = Script(httpx.ConnectError, httpx.ConnectError, httpx.ConnectError)
    with pytest.raises(Unreachable, match="Vendor is unreachable"):
        await send(script, method="POST", idempotent=False, attempts=3)
    assert script.requests == 3


@pytest.mark.parametrize(
    "failure", [503, httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError]
)
async def test_a_create_whose_outcome_is_unknown_is_never_repeated(
    failure: int | type[httpx.RequestError],
) -> None:
    script = Script(failure, 201)
    with pytest.raises(OutcomeUnknown):
        await send(script, method="POST", idempotent=False)
    assert script.requests == 1


async def test_a_create_refused_with_429_is_safe_to_repeat() -> None:
    script = Script((429, {"Retry-After": "1"}), 201)
    response, delays = await send(script, method="POST", idempotent=False)
    assert (response.status_code, delays) == (201, [1.0])


async def test_while_one_request_waits_out_a_429_no_other_request_to_that_host_is_sent() -> None:
    """Requests sharing a policy back off together: a request started during another's
    Retry-After waits for it to end; a request to another host does not wait."""
    release = asyncio.Event()
    delays: list[float] = []

    async def held_sleep(seconds: float) -> None:
        delays.append(seconds)
        await release.wait()

    shared = RetryPolicy(attempts=3, sleep=held_sleep)
    sent: list[str] = []
    refusals = {"/refused": 1}

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.url.host}{request.url.path}")
        if refusals.get(request.url.path):
            refusals[request.url.path] -= 1
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:

        async def get(url: str) -> int:
            request = client.build_request("GET", url)
            response = await send_with_retries(
                client, request, policy=shared, idempotent=True, vendor="V"
            )
            return response.status_code

        refused = asyncio.ensure_future(get("https://vendor.test/refused"))
        while not delays:  # the refused request is now sitting out its Retry-After
            await asyncio.sleep(0)
        same_host = asyncio.ensure_future(get("https://vendor.test/other"))
        other_host = asyncio.ensure_future(get("https://elsewhere.test/other"))
        assert await other_host == 200
        for _ in range(10):
            await asyncio.sleep(0)
        assert sent == ["vendor.test/refused", "elsewhere.test/other"]
        release.set()
        assert (await refused, await same_host) == (200, 200)
    assert sorted(sent[2:]) == ["vendor.test/other", "vendor.test/refused"]
    assert delays == [7.0]


async def test_a_request_retried_after_a_429_also_waits_for_a_longer_pause_of_its_host() -> None:
    delays: list[float] = []

    async def brief_sleep(seconds: float) -> None:  # its own Retry-After: over at once
        delays.append(seconds)
        await asyncio.sleep(0)

    shared = RetryPolicy(sleep=brief_sleep)
    order: list[str] = []
    pauses: list[asyncio.Task[None]] = []

    async def longer_pause() -> None:  # another request's 429, answered just after this one's
        async with shared.hosts.paused("V vendor.test"):  # vendor V on that host
            await asyncio.sleep(0.05)
        order.append("the other pause ended")

    def answer(_request: httpx.Request) -> httpx.Response:
        order.append("sent")
        if len(order) > 1:
            return httpx.Response(200)
        pauses.append(asyncio.get_running_loop().create_task(longer_pause()))
        return httpx.Response(429, headers={"Retry-After": "0"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        request = client.build_request("GET", "https://vendor.test/things")
        response = await send_with_retries(
            client, request, policy=shared, idempotent=True, vendor="V"
        )
    await asyncio.gather(*pauses)
    assert response.status_code == 200
    assert (order, delays) == (["sent", "the other pause ended", "sent"], [0.0])


async def test_retry_after_is_capped() -> None:
    delays: list[float] = []
    capped = policy(delays)
    assert capped.delay(attempt=1, retry_after=86_400) == capped.max_retry_after


def at(now: dt.datetime) -> Callable[[], dt.datetime]:
    return lambda: now


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        ("Tue, 24 Nov 2026 12:00:30 GMT", 30.0),
        ("Tue, 24 Nov 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str, seconds: float | None) -> None:
    response = httpx.Response(429, headers={"Retry-After": header} if header else {})
    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(response, now=at(now)) == seconds


def test_a_policy_needs_an_attempt() -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        RetryPolicy(attempts=0)


async def test_a_429_pauses_only_the_vendor_that_refused_on_a_shared_host() -> None:
    """The sandboxes serve the marketplace and the PSA on one host: one vendor's 429 (its own
    rate limit) must not hold the other vendor's requests."""
    release = asyncio.Event()

    async def held_sleep(_seconds: float) -> None:  # the refused vendor's pause lasts until told
        await release.wait()

    shared = RetryPolicy(sleep=held_sleep)
    refused_once: list[bool] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/psa" and not refused_once:
            refused_once.append(True)
            return httpx.Response(429, headers={"Retry-After": "5"})
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        psa = asyncio.create_task(
            send_with_retries(
                client,
                client.build_request("GET", "https://shared.test/psa"),
                policy=shared,
                idempotent=True,
                vendor="PSA",
            )
        )
        await asyncio.sleep(0.01)  # the PSA request is sitting out its 429
        other = await asyncio.wait_for(
            send_with_retries(
                client,
                client.build_request("GET", "https://shared.test/marketplace"),
                policy=shared,
                idempotent=True,
                vendor="Marketplace",
            ),
            timeout=1,
        )
        assert other.status_code == 200 and not psa.done()
        release.set()
        assert (await psa).status_code == 200
