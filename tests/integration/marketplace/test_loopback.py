"""The client against the emulator over a real socket (uvicorn on loopback)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from psasync.adapters.marketplace import InvalidCredentials, MarketplaceUnreachable
from psasync.sandbox.faults import FaultSettings
from tests.integration.marketplace.conftest import Sandbox, Sleeps, make_client
from tests.integration.marketplace.data import ALICE, NORTHWIND_MAPPED
from tests.integration.marketplace.spec import SpecChecker

pytestmark = pytest.mark.anyio


@pytest.fixture
def served(sandbox: Sandbox) -> Iterator[str]:
    """The emulator (with fault injection) served by uvicorn; its base URL."""
    # Imported here: the sandbox server module needs both emulator packages.
    from psasync.sandbox.server import serve_in_thread

    with serve_in_thread(sandbox.app) as url:
        yield url


async def test_login_paging_and_isolation_over_the_wire(
    served: str, sandbox: Sandbox, sleeps: Sleeps, spec: SpecChecker
) -> None:
    async with httpx.AsyncClient(event_hooks={"response": [spec.hook()]}) as http:
        client = make_client(http, sleeps=sleeps, clock=sandbox.clock, base_url=served)
        session = await client.login(**ALICE)
        listing = await session.list_orders()
        assert [order.id for order in listing.items] == NORTHWIND_MAPPED
        with pytest.raises(InvalidCredentials):
            await client.login(username=ALICE["username"], password="nope")
    assert sandbox.calls.snapshot()[("GET", "/orders")] == 3


async def test_a_connection_cut_mid_answer_is_retried_over_the_wire(
    served: str, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    async with httpx.AsyncClient() as http:
        client = make_client(http, sleeps=sleeps, clock=sandbox.clock, base_url=served)
        session = await client.login(**ALICE)
        sandbox.faults.configure(FaultSettings(rate_drop=1, path_prefix="/subscriptions"))

        def heal() -> None:
            sandbox.faults.configure(FaultSettings())

        sleeps.on_sleep = heal
        subscription = await session.get_subscription("7000101")
    assert subscription.id == "7000101" and len(sleeps.delays) == 1


async def test_a_429_over_the_wire_honours_retry_after(
    served: str, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    async with httpx.AsyncClient() as http:
        client = make_client(http, sleeps=sleeps, clock=sandbox.clock, base_url=served)
        sandbox.faults.configure(FaultSettings(rate_429=1, retry_after_seconds=3))
        with pytest.raises(MarketplaceUnreachable) as raised:
            await client.login(**ALICE)
    assert raised.value.status == 429 and sleeps.delays == [3.0, 3.0, 3.0]


async def test_nothing_listening_is_unreachable(sleeps: Sleeps, sandbox: Sandbox) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with httpx.AsyncClient() as http:
        client = make_client(
            http, sleeps=sleeps, clock=sandbox.clock, base_url=f"http://127.0.0.1:{port}"
        )
        with pytest.raises(MarketplaceUnreachable, match="ConnectError"):
            await client.login(**ALICE)
