"""What a plan costs: its vendor reads go out together, and a plan of a task psasync already
knows (subscription kept, customer and products mapped) writes nothing to the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import event

from psasync.adapters.connectwise.psa import ConnectWisePsa
from psasync.adapters.marketplace.session import MarketplaceSession
from tests.e2e.conftest import World, task_id
from tests.e2e.test_api_flow import GREEN_LANE_MANAGED, amounts, preview

pytestmark = pytest.mark.anyio

UPGRADE = "CH0000417"  # Green Lane's upgrade: planned against GREEN_LANE_MANAGED
UPGRADE_AMOUNTS = ("16.66", "157.00", "182.00")

Read = Callable[..., Awaitable[Any]]


async def test_a_first_preview_sends_its_vendor_reads_together(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The subscription, the agreement and its additions each wait until all three have been
    # asked for: read one after another, the first would wait in vain and the preview fail.
    together = asyncio.Barrier(3)

    def gated(read: Read) -> Read:
        async def waiting(*args: Any, **kwargs: Any) -> Any:
            await asyncio.wait_for(together.wait(), timeout=10)
            return await read(*args, **kwargs)

        return waiting

    monkeypatch.setattr(ConnectWisePsa, "agreement", gated(ConnectWisePsa.agreement))
    monkeypatch.setattr(ConnectWisePsa, "lines", gated(ConnectWisePsa.lines))
    monkeypatch.setattr(
        MarketplaceSession, "get_subscription", gated(MarketplaceSession.get_subscription)
    )
    async with world.ready() as client:
        plan = await preview(client, UPGRADE, GREEN_LANE_MANAGED)
    assert amounts(plan) == UPGRADE_AMOUNTS


async def test_a_preview_of_a_known_task_commits_no_transaction(world: World) -> None:
    async with world.ready() as client:
        # The first preview keeps the subscription and maps the customer and the products.
        assert amounts(await preview(client, UPGRADE, GREEN_LANE_MANAGED)) == UPGRADE_AMOUNTS
        commits: list[object] = []
        engine = world.services.db.engine.sync_engine
        count = commits.append
        event.listen(engine, "commit", count)
        try:
            # What any request commits besides its work (the login session's upkeep), measured
            # on a request that only reads.
            task = await task_id(client, UPGRADE)
            upkeep = len(commits)
            answer = await client.post(
                f"/api/v1/connectwise/tasks/{task}/preview",
                json={"agreementId": GREEN_LANE_MANAGED},
            )
        finally:
            event.remove(engine, "commit", count)
    assert answer.status_code == 200, answer.text
    assert amounts(answer.json()) == UPGRADE_AMOUNTS
    # Everything the plan needs is read in one read-only transaction, never committed: the
    # preview commits no more than a request that only reads (it used to add four).
    assert len(commits) - upkeep <= upkeep
