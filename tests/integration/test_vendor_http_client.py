"""The vendor HTTP client's pool: calls beyond its size wait for a connection instead of
opening more (httpcore checks every pooled connection on each call), and every connection it
opens is kept for the next burst. It keeps no cookie: it serves every tenant."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from starlette.types import Receive, Scope, Send

from psasync.sandbox.server import serve_in_thread
from psasync.services.context import VENDOR_CONNECTIONS, vendor_http_client

BURST = 50  # ten syncs reading five records each at once
PAUSE = 0.02  # each answer waits, so that a burst's calls are in flight together

pytestmark = pytest.mark.anyio


class ConnectionCounter:
    """An app answering every request after PAUSE, noting the client port it came from."""

    def __init__(self) -> None:
        self.ports: set[int] = set()

    async def __call__(self, scope: Scope, _receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.ports.add(scope["client"][1])
        await asyncio.sleep(PAUSE)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture
def counter() -> ConnectionCounter:
    return ConnectionCounter()


@pytest.fixture
def served(counter: ConnectionCounter) -> Iterator[str]:
    with serve_in_thread(counter) as url:
        yield url


async def test_a_burst_shares_a_small_pool_kept_for_the_next(
    served: str, counter: ConnectionCounter
) -> None:
    async with vendor_http_client(base_url=served) as http:

        async def burst() -> None:
            answers = await asyncio.gather(*(http.get(f"/call/{n}") for n in range(BURST)))
            assert all(answer.status_code == 200 for answer in answers)

        await burst()
        opened = len(counter.ports)
        await burst()
    assert opened == VENDOR_CONNECTIONS.max_connections == 16
    assert len(counter.ports) == opened, "connections were closed after a burst and opened again"


class CookieSetter:
    """An app that answers every call with a session cookie and notes the cookies it is sent."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def __call__(self, scope: Scope, _receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.sent.extend(value for name, value in scope["headers"] if name == b"cookie")
        headers = [(b"set-cookie", b"session=tenant-a; Path=/")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})


async def test_a_cookie_one_call_was_answered_with_rides_on_no_later_call() -> None:
    app = CookieSetter()
    with serve_in_thread(app) as url:
        async with vendor_http_client(base_url=url) as http:
            first = await http.get("/tenant-a/call")
            await http.get("/tenant-b/call")
    assert first.headers["set-cookie"].startswith("session=")
    assert app.sent == [], "a cookie from one tenant's call was sent with another's"
