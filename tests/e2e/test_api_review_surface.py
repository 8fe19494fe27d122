"""What the review, result and history answers carry beyond the plan's values: where each
line's price came from, a delete's place in the journal, what verification found after a run,
and until when a task is busy."""

from __future__ import annotations

import datetime as dt
from html import unescape
from typing import Any

import httpx
import pytest

from psasync.store import tasks as task_store
from tests.e2e.conftest import NORTHWIND, World, task_id
from tests.e2e.test_api_flow import GREEN_LANE_MANAGED
from tests.e2e.test_sync_verification import plant_copy

pytestmark = pytest.mark.anyio
GREEN_LANE_CHANGE = "CH0000417"


async def preview(client: httpx.AsyncClient, task: int, **body: Any) -> dict[str, Any]:
    answer = await client.post(
        f"/api/v1/connectwise/tasks/{task}/preview",
        json={"agreementId": GREEN_LANE_MANAGED, **body},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def origins(plan: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(a["action"], a["kind"], a["priceOrigin"]) for a in plan["additions"]]


async def test_each_previewed_line_says_where_its_price_came_from(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, GREEN_LANE_CHANGE)
        assert origins(await preview(client, task)) == [
            ("cancel", "recurring", "existingAddition"),
            ("create", "recurring", "marketplace"),
            ("create", "prorate", "marketplace"),
        ]
        catalog = await preview(client, task, priceSource="connectwise")
        assert origins(catalog)[1] == ("create", "recurring", "existingAddition")

        plan = await preview(client, task)
        edited = [dict(a) for a in plan["additions"]]
        edited[1]["unitPrice"] = "13.00"
        assert origins(await preview(client, task, additions=edited))[1] == (
            "create",
            "recurring",
            "edited",
        )


async def claim_elsewhere(world: World, task: int) -> dt.datetime:
    """Another run holds the task (say, one that crashed): until when its claim lasts."""
    now = world.services.now()
    until = now + world.services.sync_lease
    async with world.services.db.session() as session:
        assert await task_store.claim_task(
            session, 1, task, token="another-run", now=now, until=until
        )
    return until


async def test_a_surplus_copy_deleted_after_a_sync_is_an_event_of_the_run(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, GREEN_LANE_CHANGE)
        key = f"task:{task}:line1:prorate"
        before = await world.additions(GREEN_LANE_MANAGED)
        # Two copies of one create: the first is taken as the task's own earlier write, the
        # second is the surplus a late apply leaves.
        await plant_copy(world, key, like=before[0])
        planted = await plant_copy(world, key, like=before[0])
        answer = await client.post(
            f"/api/v1/connectwise/tasks/{task}/sync", json={"agreementId": GREEN_LANE_MANAGED}
        )
        assert answer.status_code == 200, answer.text
        (event,) = answer.json()["run"]["events"]
        assert (event["kind"], event["key"], event["additionId"]) == (
            "surplus_deleted",
            key,
            planted,
        )
        assert "deleted" in event["message"]

        (entry,) = (await client.get("/api/v1/connectwise/history")).json()["items"]
        assert entry["run"]["events"] == [event]

        async with world.client() as browser:
            await browser.post(
                "/login", data={"marketplace": "us", **NORTHWIND}, follow_redirects=True
            )
            result = await browser.get(f"/integrations/connectwise/tasks/{task}")
            history = await browser.get("/integrations/connectwise/history")
        for page in (result, history):
            assert f"addition {planted}; it was deleted before it was ever invoiced" in unescape(
                page.text
            )


async def test_a_busy_task_says_until_when(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, GREEN_LANE_CHANGE)
        url = f"/api/v1/connectwise/tasks/{task}"
        assert (await client.get(url)).json()["busyUntil"] is None
        until = await claim_elsewhere(world, task)
        shown = (await client.get(url)).json()["busyUntil"]
        assert dt.datetime.fromisoformat(shown) == until
        listed = await client.get("/api/v1/connectwise/tasks", params={"q": GREEN_LANE_CHANGE})
        assert listed.json()["items"][0]["busyUntil"] == shown

        async with world.client() as browser:
            await browser.post(
                "/login", data={"marketplace": "us", **NORTHWIND}, follow_redirects=True
            )
            page = await browser.get(f"/integrations/connectwise/tasks/{task}")
        assert (
            "Being synced; if that sync stopped, Sync can be tried again after "
            f"{until:%H:%M} UTC" in unescape(page.text)
        )
