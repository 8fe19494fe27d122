"""Automation on an Autotask tenant (DESIGN §8, §11), through the REST API with a real job
worker, on the demo's Autotask sandbox (Fabrikam Managed Services): Run now checks the
marketplace as the integration user, auto-syncs the tasks the policy allows — each as the
adjustments or charges an attended sync writes — and leaves the rest waiting with their reason;
a second run decides nothing twice and writes nothing more."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e import test_automation_run as connectwise_automation
from tests.e2e.conftest import World
from tests.e2e.test_automation_run import ON, Worker, job_of
from tests.e2e.test_autotask_api import AUTOTASK, FABRIKAM, NOVEMBER, adjustments, billed
from tests.e2e.test_autotask_api import world as autotask_world

pytestmark = pytest.mark.anyio

# The world on the demo's Autotask sandbox, and the job worker of the ConnectWise tests.
world = autotask_world
worker = connectwise_automation.worker

URL = "/api/v1/autotask/automation"
RUN = "/api/v1/autotask/automation/run"


async def run_now(client: httpx.AsyncClient, worker: Worker) -> dict[str, Any]:
    answer = await client.post(RUN)
    assert answer.status_code == 202, answer.text
    job = answer.json()["job"]
    assert job["kind"] == "automation", job
    await worker.run()
    return await job_of(client, job["id"])


async def tasks_by_order(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    answer = await client.get("/api/v1/autotask/tasks", params={"limit": 500})
    assert answer.status_code == 200, answer.text
    return {item["orderNumber"]: item for item in answer.json()["items"]}


async def test_run_now_auto_syncs_the_eligible_tasks_and_the_rest_waits_with_reasons(
    world: World, worker: Worker
) -> None:
    async with world.login(FABRIKAM) as client:
        answer = await client.put("/api/v1/integrations/autotask", json=AUTOTASK)
        assert answer.status_code == 200, answer.text
        answer = await client.put(URL, json={**ON, "marketplaceUser": FABRIKAM})
        assert answer.status_code == 200, answer.text
        before = {contract: await billed(world, contract, **NOVEMBER) for contract in (2001, 2011)}

        job = await run_now(client, worker)
        assert job["status"] == "succeeded", job
        result = job["result"]
        assert result["failed"] == [] and result["busy"] == [], result
        tasks = await tasks_by_order(client)
        assert result["counts"]["newTasks"] == len(tasks) == 5
        synced = {item["taskId"] for item in result["synced"]}
        waiting = {item["taskId"]: item["reason"] for item in result["waiting"]}
        status = {number: task["status"] for number, task in tasks.items()}
        assert status == {
            "CH0000701": "synced",  # +2 seats on contract 2001, the one eligible
            "SO0000701": "synced",  # 5 Premium seats added to contract 2011
            "BO0000701": "synced",  # October's usage as two contract charges on 2021
            "CA0000701": "new",  # a cancellation credits: it needs review
            "CH0000702": "new",  # its period is approved and posted
        }
        assert {
            number: tasks[number]["waitingReason"] for number in ("CA0000701", "CH0000702")
        } == {
            # Autotask credits 8 × 4.58 (12.50 × 11/30) by itself: no prorate line shows it.
            "CA0000701": "credit of −$36.64 needs review",
            "CH0000702": "plan has a PeriodInvoiced warning",
        }
        assert set(waiting.values()) == {
            "credit of −$36.64 needs review",
            "plan has a PeriodInvoiced warning",
        }
        assert synced == {tasks[n]["id"] for n in ("CH0000701", "SO0000701", "BO0000701")}

        # What the unattended run wrote is what an attended sync writes (test_autotask_api).
        made = [
            (a["contractID"], a["unitChange"], a["effectiveDate"][:10])
            for a in await adjustments(world)
        ]
        assert sorted(made) == [(2001, 2, "2026-11-11"), (2011, 5, "2026-11-21")]
        assert await billed(world, 2001, **NOVEMBER) - before[2001] == Decimal("16.66")
        assert await billed(world, 2011, **NOVEMBER) - before[2011] == Decimal("36.65")
        history = (await client.get("/api/v1/autotask/history")).json()["items"]
        assert {entry["user"] for entry in history} == {"automation"}

        again = await run_now(client, worker)
        assert again["status"] == "succeeded", again
        assert again["result"]["counts"] == {
            "newTasks": 0,
            "synced": 0,
            "waiting": 0,
            "failed": 0,
            "busy": 0,
        }
        assert sorted(
            (a["contractID"], a["unitChange"], a["effectiveDate"][:10])
            for a in await adjustments(world)
        ) == sorted(made)
