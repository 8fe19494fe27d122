"""A reviewed addition sent back with "skip": true is left out: shown in the preview, journalled
as skipped, never written, and the amounts leave it out (DESIGN §4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import World, task_id
from tests.e2e.test_api_flow import GREEN_LANE_MANAGED

pytestmark = pytest.mark.anyio


async def test_a_skipped_addition_is_shown_journalled_and_never_written(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        url = f"/api/v1/connectwise/tasks/{task}"
        plan: dict[str, Any] = (
            await client.post(f"{url}/preview", json={"agreementId": GREEN_LANE_MANAGED})
        ).json()
        prorate = next(a for a in plan["additions"] if a["kind"] == "prorate")
        assert prorate["skip"] is False and plan["proratedAmount"] != "0.00"
        body = {"agreementId": GREEN_LANE_MANAGED, "additions": [{**prorate, "skip": True}]}

        again = (await client.post(f"{url}/preview", json=body)).json()
        shown = next(a for a in again["additions"] if a["key"] == prorate["key"])
        assert shown["skip"] is True and again["proratedAmount"] == "0.00"
        assert again["recurringAmount"] == plan["recurringAmount"]

        before = await world.additions(GREEN_LANE_MANAGED)
        answer = await client.post(f"{url}/sync", json=body)
        assert answer.status_code == 200, answer.text
        outcomes = {a["key"]: a["outcome"] for a in answer.json()["run"]["actions"]}
        assert outcomes[prorate["key"]] == "skipped"
        assert sorted(outcomes.values()) == ["applied", "applied", "skipped"]
        after = await world.additions(GREEN_LANE_MANAGED)
        assert prorate["key"] not in {a.sync_key for a in after}
        assert len(after) == len(before) + 1  # the recurring create only
        history = (await client.get("/api/v1/connectwise/history")).json()
        (run,) = history["items"]
        assert "skipped" in {action["outcome"] for action in run["run"]["actions"]}


async def test_the_preview_totals_one_time_charges(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "SO0000392")  # Cedar Ridge: a $50 setup fee
        plan = (
            await client.post(
                f"/api/v1/connectwise/tasks/{task}/preview", json={"agreementId": 1221}
            )
        ).json()
        assert plan["oneTimeAmount"] == "50.00"
