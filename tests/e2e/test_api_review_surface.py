"""What the review, result and history answers carry beyond the plan's values: where each
line's price came from, a delete's place in the journal, what verification found after a run,
and until when a task is busy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import World, task_id
from tests.e2e.test_api_flow import GREEN_LANE_MANAGED

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
