"""Automation through the REST API (DESIGN §4, §8): the settings' full shape and its refusals,
and the unattended run — Run now, with a real Procrastinate worker (in memory on SQLite, psycopg
on PostgreSQL) — auto-syncing the demo's tasks the policy allows (keys written once) and leaving
the others waiting with their reason; a run again converges."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import procrastinate
import pytest
from sqlalchemy import select

from psasync.jobs.app import ProcrastinateQueue, create_job_app, ensure_queue_schema, is_postgresql
from psasync.services import Services, planning, unattended
from psasync.services import jobs as job_service
from psasync.services import sync as sync_service
from psasync.store import AutomationConfig, JobStatus
from tests.e2e.conftest import NORTHWIND, World

pytestmark = pytest.mark.anyio

URL = "/api/v1/connectwise/automation"
RUN = "/api/v1/connectwise/automation/run"
# No schedule here: the worker's periodic deferrer runs on the real clock, and the tests run
# unattended runs themselves (tests/integration/test_automation_schedule.py drives the schedule).
ON = {
    "schedule": {"every": None, "timezone": "Europe/Berlin"},
    "autoSync": {
        "orderTypes": ["sales", "change", "billing", "renewal", "cancellation"],
        "priceSource": "marketplace",
        "allowCredits": False,
        "maxAmount": "500.00",
    },
    "notify": {"emails": [], "webhookUrl": None},
}


@dataclass
class Worker:
    app: procrastinate.App
    services: Services

    async def run(self) -> None:
        """Run the queued jobs, then stop (the queue is empty)."""
        await self.app.run_worker_async(
            wait=False,
            install_signal_handlers=False,
            additional_context={"services": self.services},
        )


@pytest.fixture
async def worker(world: World) -> AsyncIterator[Worker]:
    url = world.services.settings.database_url
    app = create_job_app(url)
    async with app.open_async():
        await ensure_queue_schema(app, url)
        if is_postgresql(url):
            await app.connector.execute_query_async(
                "TRUNCATE procrastinate_jobs RESTART IDENTITY CASCADE"
            )
        world.services.queue = ProcrastinateQueue(app)
        try:
            yield Worker(app, world.services)
        finally:
            world.services.queue = None


async def config_rows(world: World) -> list[AutomationConfig]:
    async with world.services.db.session() as session:
        return list(await session.scalars(select(AutomationConfig)))


def error_of(answer: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = answer.json()["error"]
    return body


async def test_the_settings_default_to_off(world: World) -> None:
    async with world.login() as client:
        answer = await client.get(URL)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "schedule": {"every": None, "at": None, "timezone": "UTC"},
            "autoSync": {
                "orderTypes": [],
                "priceSource": "marketplace",
                "allowCredits": False,
                "maxAmount": None,
            },
            "notify": {"emails": [], "webhookUrl": None},
            "marketplaceUser": None,
            "lastRun": None,
            "nextRun": None,
        }


async def test_the_settings_are_stored_and_shown(world: World) -> None:
    async with world.login() as client:
        body = {
            "schedule": {"every": "1d", "at": "06:30", "timezone": "America/New_York"},
            "autoSync": {"orderTypes": ["change", "sales"], "maxAmount": 250, "allowCredits": True},
            "notify": {
                "emails": ["ops@northwind-it.example", " billing@northwind-it.example "],
                "webhookUrl": "https://hooks.example.com/psasync/T0K3N",
            },
            "marketplaceUser": NORTHWIND,
        }
        answer = await client.put(URL, json=body)
        assert answer.status_code == 200, answer.text
        shown = answer.json()
        assert shown["schedule"] == {"every": "1d", "at": "06:30", "timezone": "America/New_York"}
        assert shown["autoSync"] == {
            "orderTypes": ["change", "sales"],
            "priceSource": "marketplace",
            "allowCredits": True,
            "maxAmount": "250.00",
        }
        assert shown["notify"] == {
            "emails": ["ops@northwind-it.example", "billing@northwind-it.example"],
            "webhookUrl": "https://hooks.example.com/psasync/T0K3N",
        }
        # The clock is 2026-11-24 12:00 UTC: 06:30 in New York (UTC-5) is 11:30 UTC, passed.
        assert shown["nextRun"] == "2026-11-25T11:30:00Z"
        assert shown["marketplaceUser"]["username"] == NORTHWIND["username"]
        assert (await client.get(URL)).json() == shown
        # A part left out is kept; the schedule turned off has no next run.
        answer = await client.put(URL, json={"schedule": None})
        assert answer.json()["autoSync"] == shown["autoSync"]
        assert answer.json()["schedule"]["every"] is None and answer.json()["nextRun"] is None


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {"schedule": {"every": "15m", "timezone": "Mars/Olympus"}},
            "schedule.timezone",
            "time zone",
        ),
        ({"schedule": {"every": "1d", "at": "25:00"}}, "schedule.at", "HH:MM"),
        ({"schedule": {"every": "1d"}}, "schedule.at", "daily"),
        ({"notify": {"emails": ["not-an-address"]}}, "notify.emails", "e-mail"),
        ({"notify": {"webhookUrl": "http://hooks.example.com/x"}}, "notify.webhookUrl", "https"),
        ({"notify": {"webhookUrl": "ftp://hooks.example.com/x"}}, "notify.webhookUrl", "https"),
        (
            {"autoSync": {"orderTypes": ["sales"], "maxAmount": "-1"}},
            "autoSync.maxAmount",
            "amount",
        ),
    ],
)
async def test_refused_settings_say_why_and_store_nothing(
    world: World, body: dict[str, Any], field: str, words: str
) -> None:
    async with world.login() as client:
        answer = await client.put(URL, json={**body, "marketplaceUser": NORTHWIND})
        assert answer.status_code == 422, answer.text
        error = error_of(answer)
        assert error["code"] == "InvalidAutomation"
        assert error["details"]["fieldErrors"][0]["field"] == field
        assert words in error["message"]
        assert await config_rows(world) == []
        assert (await client.get(URL)).json()["marketplaceUser"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"schedule": {"every": "2h"}},
        {"autoSync": {"orderTypes": ["migration"]}},
        {"autoSync": {"maxAmount": "1e3"}},
        {"autoSync": {"priceSource": "cheapest"}},
        {"notify": {"emails": "ops@example.com"}},
        {"unknown": 1},
    ],
)
async def test_malformed_settings_are_422(world: World, body: dict[str, Any]) -> None:
    async with world.login() as client:
        answer = await client.put(URL, json=body)
        assert answer.status_code == 422, answer.text
        assert await config_rows(world) == []


async def test_a_loopback_webhook_is_allowed_for_the_sandboxes(world: World) -> None:
    async with world.login() as client:
        answer = await client.put(URL, json={"notify": {"webhookUrl": "http://127.0.0.1:9/hook"}})
        assert answer.status_code == 200, answer.text


@pytest.mark.usefixtures("worker")
async def test_run_now_needs_the_integration_user(world: World) -> None:
    async with world.ready() as client:
        answer = await client.post(RUN)
        assert answer.status_code == 422 and error_of(answer)["code"] == "NoIntegrationUser"
        assert "Nothing runs unattended" in error_of(answer)["message"]


async def job_of(client: httpx.AsyncClient, job_id: int) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()
    return job


async def run_now(client: httpx.AsyncClient, worker: Worker) -> dict[str, Any]:
    answer = await client.post(RUN)
    assert answer.status_code == 202, answer.text
    job = answer.json()["job"]
    assert (job["kind"], job["status"]) == ("automation", "queued")
    await worker.run()
    return await job_of(client, job["id"])


async def tasks(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await client.get("/api/v1/connectwise/tasks", params={"limit": 500})
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def every_key(world: World, agreements: set[int]) -> list[str]:
    found: list[str] = []
    for agreement in sorted(agreements):
        found += [a.sync_key for a in await world.additions(agreement) if a.sync_key]
    return found


async def test_run_now_auto_syncs_what_the_policy_allows_and_the_rest_waits_with_its_reason(
    world: World, worker: Worker
) -> None:
    async with world.login() as client:
        answer = await client.put("/api/v1/integrations/connectwise", json=CONNECTWISE)
        assert answer.status_code == 200, answer.text
        answer = await client.put(URL, json={**ON, "marketplaceUser": NORTHWIND})
        assert answer.status_code == 200, answer.text
        job = await run_now(client, worker)
        assert job["status"] == "succeeded", job
        result = job["result"]
        items = await tasks(client)
        # The run found the demo's orders itself (Check Changes as the integration user).
        assert result["counts"]["newTasks"] == len(items) > 0
        synced = {item["taskId"] for item in result["synced"]}
        waiting = {item["taskId"]: item["reason"] for item in result["waiting"]}
        assert synced and waiting, result
        assert result["failed"] == [] and result["busy"] == [] and result["skipped"] is None
        assert job["progress"] == {"done": len(items), "total": len(items)}
        for item in items:
            if item["id"] in synced:
                assert item["status"] == "synced" and item["waitingReason"] is None
            else:
                assert item["status"] == "new"
                assert item["waitingReason"] == waiting[item["id"]]
        # The run is on the history as automation's.
        history = (await client.get("/api/v1/connectwise/history")).json()["items"]
        assert {entry["user"] for entry in history} == {"automation"}
        agreements = {entry["run"]["agreementId"] for entry in history}
        keys = await every_key(world, agreements)
        assert keys and len(keys) == len(set(keys))

        # Shown on the settings: the last run and what it did.
        shown = (await client.get(URL)).json()
        assert shown["lastRun"]["jobId"] == job["id"] and shown["lastRun"]["status"] == "succeeded"
        assert shown["lastRun"]["counts"]["synced"] == len(synced)
        assert shown["nextRun"] is None
        # The demo's reasons, among them a downgrade's credit and an unmapped customer.
        reasons = set(waiting.values())
        assert "credit of −$33.00 needs review" in reasons
        assert "no eligible agreement" in reasons
        assert any("is not mapped to a ConnectWise company" in r for r in reasons)

        # Again: nothing new, nothing decided twice, nothing written twice.
        again = await run_now(client, worker)
        assert again["status"] == "succeeded"
        assert again["result"]["counts"] == {
            "newTasks": 0,
            "synced": 0,
            "waiting": 0,
            "failed": 0,
            "busy": 0,
        }
        assert await every_key(world, agreements) == keys


async def test_a_changed_policy_decides_the_waiting_tasks_again(
    world: World, worker: Worker
) -> None:
    async with world.login() as client:
        await client.put("/api/v1/integrations/connectwise", json=CONNECTWISE)
        off = {**ON, "autoSync": {"orderTypes": []}, "marketplaceUser": NORTHWIND}
        assert (await client.put(URL, json=off)).status_code == 200
        first = await run_now(client, worker)
        reasons = {item["reason"] for item in first["result"]["waiting"]}
        assert reasons == {"auto-sync is off"}
        assert first["result"]["synced"] == []
        assert (await client.put(URL, json={"autoSync": ON["autoSync"]})).status_code == 200
        assert all(item["waitingReason"] is None for item in await tasks(client))
        second = await run_now(client, worker)
        assert second["result"]["synced"], second["result"]


@pytest.mark.usefixtures("worker")
async def test_a_second_run_now_while_one_waits_is_409(world: World) -> None:
    async with world.login() as client:
        assert (await client.put(URL, json={"marketplaceUser": NORTHWIND})).status_code == 200
        assert (await client.post(RUN)).status_code == 202
        busy = await client.post(RUN)
        assert busy.status_code == 409 and error_of(busy)["code"] == "JobQueued"


CONNECTWISE = {
    "siteUrl": "http://sandbox.test",
    "companyId": "northwind",
    "publicKey": "demoPublicKey01",
    "privateKey": "demoPrivateKey01",
    "clientId": "5b1c2a6e-3f4d-4e8a-9c1b-7d2e6f8a9b0c",
}


async def test_a_task_another_run_has_in_hand_is_left_to_it(world: World, worker: Worker) -> None:
    """The first run's tasks are queued but not settled yet when a second run checks (a run
    longer than the schedule's slot): the second takes none of them; the first settles each
    once."""
    async with world.login() as client:
        await client.put("/api/v1/integrations/connectwise", json=CONNECTWISE)
        assert (await client.put(URL, json={**ON, "marketplaceUser": NORTHWIND})).status_code == 200
        first = (await client.post(RUN)).json()["job"]
        held = await job_service.run_job(world.services, first["id"])  # checked; parts queued
        assert held is not None and held.status is JobStatus.RUNNING
        assert held.progress_total

        second = await unattended.run_automation(world.services, held.tenant_id, job_id=0)
        assert isinstance(second, job_service.FanOut) and second.keys == ()

        await worker.run()
        counts = (await job_of(client, first["id"]))["result"]["counts"]
        assert counts["synced"] > 0 and counts["synced"] + counts["waiting"] == counts["newTasks"]
        assert counts["newTasks"] == held.progress_total


async def test_an_auto_synced_task_is_planned_once(
    world: World, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan the policy decided on is the one synced: not read and made again a moment
    later inside the sync."""
    planned: list[int] = []
    real = planning.prepare_plan

    async def counting(services: Services, actor: Any, task_id: int, **kwargs: Any) -> Any:
        planned.append(task_id)
        return await real(services, actor, task_id, **kwargs)

    monkeypatch.setattr(planning, "prepare_plan", counting)
    monkeypatch.setattr(sync_service, "prepare_plan", counting)
    async with world.login() as client:
        await client.put("/api/v1/integrations/connectwise", json=CONNECTWISE)
        assert (await client.put(URL, json={**ON, "marketplaceUser": NORTHWIND})).status_code == 200
        job = await run_now(client, worker)
        synced = [item["taskId"] for item in job["result"]["synced"]]
        assert synced
        assert all(planned.count(task_id) == 1 for task_id in synced), planned
