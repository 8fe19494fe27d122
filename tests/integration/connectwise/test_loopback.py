"""The client against the emulator served by uvicorn over a real loopback socket."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from psasync.adapters.connectwise import AdditionWrite, ConnectWiseClient, field
from psasync.sandbox.server import serve_in_thread
from tests.integration.connectwise.world import Harness, policy, site

pytestmark = pytest.mark.anyio


@pytest.fixture
def served(harness: Harness) -> Iterator[str]:
    with serve_in_thread(harness.app) as base_url:
        yield base_url


def write(quantity: int) -> AdditionWrite:
    return AdditionWrite(
        product_id=301,
        quantity=Decimal(quantity),
        unit_price=Decimal("13.20"),
        unit_cost=Decimal("10.00"),
        effective_date=dt.date(2026, 11, 1),
        description="Microsoft 365",
    )


async def connect(http: httpx.AsyncClient, served: str, harness: Harness) -> ConnectWiseClient:
    return await ConnectWiseClient.connect(
        http, site(site_url=served), policy=policy(harness.sleep)
    )


async def test_reads_and_paging_over_the_wire(served: str, harness: Harness) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        client = await connect(http, served, harness)
        assert client.codebase == "v4_6_release"
        agreements = await client.api.get_all(
            "finance/agreements", conditions=field("id").gt(0), page_size=2
        )
        assert [a["id"] for a in agreements] == [1201, 1202, 1211]
        additions = await client.additions(1201)
    assert [a.unit_price for a in additions] == [Decimal("12.50"), Decimal("0.025")]
    assert harness.calls.snapshot()[("GET", "/v4_6_release/apis/3.0/finance/agreements")] == 2


async def test_a_connection_cut_after_a_create_leaves_exactly_one(
    served: str, harness: Harness
) -> None:
    key = "task:9:line1:recurring"
    harness.inject(rate_drop=1, methods=frozenset({"POST"}))
    async with httpx.AsyncClient(timeout=10) as http:
        client = await connect(http, served, harness)
        created = await client.create_addition(1201, write(2), key=key)
        harness.heal()
        keyed = [a.id for a in await client.additions(1201) if a.sync_key == key]
    assert keyed == [created.id]
    assert harness.calls.total(method="POST") == 1


async def test_429_over_the_wire_honours_retry_after(served: str, harness: Harness) -> None:
    harness.inject(rate_429=1, retry_after_seconds=2)
    harness.sleep.then = harness.heal
    async with httpx.AsyncClient(timeout=10) as http:
        client = ConnectWiseClient(http, site(site_url=served), policy=policy(harness.sleep))
        assert await client.check_credentials() == 3
    assert harness.sleep.delays == [2.0]


async def test_concurrent_creates_get_distinct_ids(served: str, harness: Harness) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        client = ConnectWiseClient(http, site(site_url=served), policy=policy(harness.sleep))
        created = await asyncio.gather(
            *(
                client.create_addition(1201, write(n), key=f"task:{n}:line1:recurring")
                for n in range(1, 41)
            )
        )
        assert len({a.id for a in created}) == 40
        assert len(await client.additions(1201)) == 42
        keys = {a.sync_key for a in await client.additions(1201)}
    assert {f"task:{n}:line1:recurring" for n in range(1, 41)} <= keys
