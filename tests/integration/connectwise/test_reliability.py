"""Retries against injected faults: Retry-After is honoured and no POST is ever duplicated.

Faults are switched on before a call and healed by the fake ``sleep`` the retry policy calls
between attempts, so "fails once, then works" needs no timing or seeds.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from psasync.adapters.connectwise import AdditionChanges, AdditionWrite, ConnectWiseClient
from psasync.adapters.http import OutcomeUnknown, Unreachable
from tests.integration.connectwise.world import Harness

pytestmark = pytest.mark.anyio
KEY = "task:42:line1:recurring"
POSTS = ("POST", "/v4_6_release/apis/3.0/finance/agreements/1201/additions")
WRITE = AdditionWrite(
    product_id=301,
    quantity=Decimal(4),
    unit_price=Decimal("13.20"),
    unit_cost=Decimal("10.00"),
    effective_date=dt.date(2026, 11, 1),
    description="Microsoft 365",
    invoice_description="Microsoft 365 Business Standard",
)


async def keyed(client: ConnectWiseClient) -> list[int]:
    """Ids of the additions carrying KEY, read with faults off."""
    return [a.id for a in await client.additions(1201) if a.sync_key == KEY]


async def test_a_429_on_a_read_waits_for_retry_after(
    harness: Harness, client: ConnectWiseClient
) -> None:
    harness.inject(rate_429=1, retry_after_seconds=7)
    harness.sleep.then = harness.heal
    assert len(await client.additions(1201)) == 2
    assert harness.sleep.delays == [7.0]


@pytest.mark.parametrize("fault", ["rate_5xx", "rate_drop"])
async def test_reads_are_retried_after_5xx_and_dropped_connections(
    harness: Harness, client: ConnectWiseClient, fault: str
) -> None:
    harness.inject(**{fault: 1, "methods": frozenset({"GET"})})
    harness.sleep.then = harness.heal
    assert (await client.agreement(1201)).name == "Green Lane - Managed Cloud"
    assert len(harness.sleep.delays) == 1 and 0 <= harness.sleep.delays[0] <= 0.5


async def test_reads_give_up_after_the_policy_s_attempts(
    harness: Harness, client: ConnectWiseClient
) -> None:
    harness.inject(rate_5xx=1)
    with pytest.raises(Unreachable, match="503") as caught:
        await client.agreement(1201)
    assert caught.value.status == 503
    assert harness.calls.total(method="GET") == 4 and len(harness.sleep.delays) == 3


async def test_a_dropped_create_is_found_by_its_key_not_posted_again(
    harness: Harness, client: ConnectWiseClient
) -> None:
    harness.inject(rate_drop=1, methods=frozenset({"POST"}))
    created = await client.create_addition(1201, WRITE, key=KEY)
    harness.heal()
    assert created.sync_key == KEY
    assert await keyed(client) == [created.id]
    assert harness.calls.snapshot()[POSTS] == 1


async def test_a_create_answered_503_is_looked_for_then_posted_once_more(
    harness: Harness, client: ConnectWiseClient
) -> None:
    harness.inject(rate_5xx=1, methods=frozenset({"POST"}))
    harness.sleep.then = harness.heal
    created = await client.create_addition(1201, WRITE, key=KEY)
    assert await keyed(client) == [created.id]
    assert harness.calls.snapshot()[POSTS] == 2
    assert len(harness.sleep.delays) == 1, "a backoff before posting again"


async def test_a_create_refused_with_429_is_retried_after_retry_after(
    harness: Harness, client: ConnectWiseClient
) -> None:
    harness.inject(rate_429=1, retry_after_seconds=3, methods=frozenset({"POST"}))
    harness.sleep.then = harness.heal
    created = await client.create_addition(1201, WRITE, key=KEY)
    assert await keyed(client) == [created.id]
    assert harness.sleep.delays == [3.0]
    assert harness.calls.snapshot()[POSTS] == 2


async def test_a_drop_on_the_create_and_on_the_lookup_still_creates_one(
    harness: Harness, client: ConnectWiseClient
) -> None:
    harness.inject(rate_drop=1)  # every request: the POST and the lookup after it
    harness.sleep.then = harness.heal
    created = await client.create_addition(1201, WRITE, key=KEY)
    assert await keyed(client) == [created.id]
    assert harness.calls.snapshot()[POSTS] == 1


async def test_creates_stop_after_their_attempts_and_write_nothing(
    harness: Harness, http: httpx.AsyncClient
) -> None:
    client = harness.client(http, create_attempts=3)
    harness.inject(rate_5xx=1, methods=frozenset({"POST"}))
    with pytest.raises(OutcomeUnknown, match="503"):
        await client.create_addition(1201, WRITE, key=KEY)
    assert harness.calls.snapshot()[POSTS] == 3
    harness.heal()
    assert await keyed(client) == []


async def test_a_patch_is_retried_because_setting_values_is_idempotent(
    harness: Harness, client: ConnectWiseClient
) -> None:
    harness.inject(rate_drop=1, methods=frozenset({"PATCH"}))
    harness.sleep.then = harness.heal
    changed = await client.update_addition(1201, 9001, AdditionChanges(quantity=Decimal(11)))
    assert changed.quantity == 11
    assert harness.calls.total(method="PATCH") == 2


class TimeoutAfterHandling(httpx.AsyncBaseTransport):
    """Lets the first POST reach the emulator, then reports a read timeout instead of its answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.timed_out = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and not self.timed_out:
            self.timed_out = True
            await response.aread()
            raise httpx.ReadTimeout("timed out waiting for the answer", request=request)
        return response


async def test_a_create_that_timed_out_is_found_not_repeated(harness: Harness) -> None:
    transport = TimeoutAfterHandling(httpx.ASGITransport(app=harness.app))
    async with httpx.AsyncClient(transport=transport) as http:
        client = harness.client(http)
        created = await client.create_addition(1201, WRITE, key=KEY)
        assert transport.timed_out
        assert await keyed(client) == [created.id]
    assert harness.calls.snapshot()[POSTS] == 1
