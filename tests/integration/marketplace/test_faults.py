"""Fault injection: 429 with Retry-After, 5xx and dropped connections are retried; what outlasts
the retries is "marketplace unreachable"."""

from __future__ import annotations

import logging

import httpx
import pytest

from psasync.adapters.marketplace import MarketplaceClient, MarketplaceUnreachable, NotFound
from psasync.sandbox.faults import FaultSettings
from tests.integration.marketplace.conftest import Sandbox, Sleeps, make_client
from tests.integration.marketplace.data import ALICE, NORTHWIND_MAPPED

pytestmark = pytest.mark.anyio


def heal_after(sandbox: Sandbox, sleeps: Sleeps, *, waits: int) -> None:
    """Switch the faults off once the client has waited ``waits`` times."""

    def maybe_heal() -> None:
        if len(sleeps.delays) >= waits:
            sandbox.faults.configure(FaultSettings())

    sleeps.on_sleep = maybe_heal


async def test_a_429_is_retried_after_the_servers_retry_after(
    client: MarketplaceClient, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    session = await client.login(**ALICE)
    sandbox.faults.configure(FaultSettings(rate_429=1, retry_after_seconds=7))
    heal_after(sandbox, sleeps, waits=2)
    listing = await session.list_orders()
    assert [order.id for order in listing.items] == NORTHWIND_MAPPED
    assert sleeps.delays == [7.0, 7.0]


async def test_5xx_answers_are_retried_with_backoff(
    client: MarketplaceClient, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    session = await client.login(**ALICE)
    sandbox.faults.configure(FaultSettings(rate_5xx=1))
    heal_after(sandbox, sleeps, waits=3)
    assert (await session.get_customer("1000048531")).name == "Green Lane LLC"
    assert len(sleeps.delays) == 3
    # Full jitter under a doubling ceiling: 0.5 s, 1 s, 2 s.
    assert all(0 <= d <= cap for d, cap in zip(sleeps.delays, (0.5, 1.0, 2.0), strict=True))


async def test_a_dropped_read_is_repeated(
    client: MarketplaceClient, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    session = await client.login(**ALICE)
    sandbox.faults.configure(FaultSettings(rate_drop=1, path_prefix="/orders"))
    heal_after(sandbox, sleeps, waits=1)
    assert (await session.get_order("5000417")).order.number == "CH0000417"
    assert sandbox.calls.snapshot()[("GET", "/orders/5000417")] == 2


async def test_a_dropped_token_request_is_repeated(
    client: MarketplaceClient, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    sandbox.faults.configure(FaultSettings(rate_drop=1, methods=frozenset({"POST"})))
    heal_after(sandbox, sleeps, waits=1)
    session = await client.login(**ALICE)
    assert session.reseller.name == "Northwind IT"
    assert sandbox.calls.total(method="POST") == 2


async def test_a_marketplace_that_stays_down_is_unreachable(
    client: MarketplaceClient, sandbox: Sandbox, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    session = await client.login(**ALICE)
    sandbox.faults.configure(FaultSettings(rate_5xx=1))
    with pytest.raises(MarketplaceUnreachable, match="marketplace unreachable") as raised:
        await session.list_orders()
    assert raised.value.status == 503
    assert "temporarily unavailable" in str(raised.value), "the vendor's message is kept"
    assert len(sleeps.delays) == 3 and sandbox.calls.total(method="GET") == 1 + 4
    assert "GET /orders" in caplog.text


async def test_a_login_against_a_marketplace_that_stays_down_is_unreachable(
    http: httpx.AsyncClient, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    sandbox.faults.configure(FaultSettings(rate_drop=1))
    client = make_client(http, sleeps=sleeps, clock=sandbox.clock, attempts=2)
    with pytest.raises(MarketplaceUnreachable, match="did not answer POST /token"):
        await client.login(**ALICE)


async def test_errors_carry_and_log_the_correlation_id(
    client: MarketplaceClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    session = await client.login(**ALICE)
    with pytest.raises(NotFound) as raised:
        await session.get_order("5000901")
    correlation = raised.value.correlation_id
    assert correlation and correlation in caplog.text
    assert correlation in str(raised.value)
