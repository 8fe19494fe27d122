"""The periodic schedule under a controllable clock (DESIGN §8): the periodic task's body is
called with successive minutes, as Procrastinate's deferrer calls it, by two "workers" — two
processes' services on one database, each with its own job app — and repeatedly; a tenant due
every 15 minutes gets exactly one automation job per slot, and each runs to its end.

On SQLite each worker has its own in-memory queue (only the slot claim in the database keeps
them from both queueing); on PostgreSQL they share Procrastinate's queue as real workers do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import procrastinate
import pytest
from sqlalchemy import select

from psasync.jobs import schedule
from psasync.jobs.app import ProcrastinateQueue, create_job_app, ensure_queue_schema, is_postgresql
from psasync.services import Services
from psasync.store import Database, Job, JobKind, JobStatus
from tests.e2e.conftest import NORTHWIND, NOW, World

pytestmark = pytest.mark.anyio

URL = "/api/v1/connectwise/automation"
REAL_DEFER = schedule.defer_scheduled


async def _nothing(_services: Services, _timestamp: int) -> list[int]:
    return []


@pytest.fixture
async def workers(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Workers, Services, Services]]:
    """The world's services and a second process's, each with a job app on the database.

    The worker's own periodic deferrer runs on the real clock: here it defers nothing, so that
    only the test's clock decides (the test calls the periodic task's body itself)."""
    monkeypatch.setattr(schedule, "defer_scheduled", _nothing)
    url = world.services.settings.database_url
    first, second = create_job_app(url), create_job_app(url)
    other_db = Database(url)
    async with first.open_async(), second.open_async():
        await ensure_queue_schema(first, url)
        if is_postgresql(url):
            await first.connector.execute_query_async(
                "TRUNCATE procrastinate_jobs RESTART IDENTITY CASCADE"
            )
        world.services.queue = ProcrastinateQueue(first)
        other = Services(
            settings=world.services.settings,
            db=other_db,
            http=world.vendor_http,
            secret_box=world.services.secret_box,
            now=world.services.now,
            retry=world.services.retry,
            queue=ProcrastinateQueue(second),
        )
        try:
            yield Workers(((first, world.services), (second, other))), world.services, other
        finally:
            world.services.queue = None
            await other_db.dispose()


@dataclass(frozen=True)
class Workers:
    apps: tuple[tuple[procrastinate.App, Services], ...]

    async def run(self) -> None:
        """Each worker runs what is queued, then stops."""
        for app, services in self.apps:
            await app.run_worker_async(
                wait=False, install_signal_handlers=False, additional_context={"services": services}
            )


async def automation_jobs(services: Services) -> list[Job]:
    async with services.db.session() as session:
        found = await session.scalars(
            select(Job).where(Job.kind == JobKind.AUTOMATION.value).order_by(Job.id)
        )
        return list(found)


async def test_a_tenant_due_every_15_minutes_gets_one_run_per_slot(
    world: World, workers: tuple[Workers, Services, Services]
) -> None:
    app, one, two = workers
    async with world.ready() as client:
        body = {"schedule": {"every": "15m"}, "marketplaceUser": NORTHWIND}
        answer = await client.put(URL, json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["nextRun"] == "2026-11-24T12:15:00Z"
        queued_at: dict[int, list[int]] = {}
        for minute in range(0, 47):
            timestamp = int((NOW + dt.timedelta(minutes=minute)).timestamp())
            # Two workers defer the same minute at the same time, and one of them again.
            answers = await asyncio.gather(
                REAL_DEFER(one, timestamp), REAL_DEFER(two, timestamp), REAL_DEFER(one, timestamp)
            )
            queued = [job_id for ids in answers for job_id in ids]
            if queued:
                queued_at[minute] = queued
            await app.run()
        assert sorted(queued_at) == [15, 30, 45]
        assert all(len(ids) == 1 for ids in queued_at.values()), queued_at
        jobs = await automation_jobs(one)
        assert [job.id for job in jobs] == [ids[0] for ids in queued_at.values()]
        assert {job.status for job in jobs} == {JobStatus.SUCCEEDED.value}
        shown = (await client.get(URL)).json()
        assert shown["nextRun"] == "2026-11-24T13:00:00Z"
        assert (
            shown["lastRun"]["jobId"] == jobs[-1].id and shown["lastRun"]["trigger"] == "schedule"
        )


async def test_nothing_is_deferred_without_an_integration_user_or_a_schedule(
    world: World, workers: tuple[Workers, Services, Services]
) -> None:
    _app, one, _two = workers
    async with world.ready() as client:
        answer = await client.put(URL, json={"schedule": {"every": "15m"}})
        assert answer.status_code == 200 and answer.json()["nextRun"] is None
        later = int((NOW + dt.timedelta(hours=2)).timestamp())
        assert await REAL_DEFER(one, later) == []
        await client.put(URL, json={"marketplaceUser": NORTHWIND, "schedule": None})
        assert await REAL_DEFER(one, later) == []
        assert await automation_jobs(one) == []


async def test_a_run_waiting_in_the_queue_is_not_queued_twice(
    world: World, workers: tuple[Workers, Services, Services]
) -> None:
    _app, one, _two = workers
    async with world.ready() as client:
        body = {"schedule": {"every": "15m"}, "marketplaceUser": NORTHWIND}
        assert (await client.put(URL, json=body)).status_code == 200
        manual = await client.post(f"{URL}/run")
        assert manual.status_code == 202
        # The schedule's slot comes while Run now still waits: nothing more is queued.
        slot = int((NOW + dt.timedelta(minutes=15)).timestamp())
        assert await REAL_DEFER(one, slot) == []
        statuses = [job.status for job in await automation_jobs(one)]
        assert statuses == [JobStatus.QUEUED.value, JobStatus.CANCELLED.value]


def test_the_periodic_task_is_registered_every_minute() -> None:
    app = create_job_app("sqlite:///unused.db")
    assert "psasync:defer_automation" in app.tasks
    crons = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    assert crons["psasync:defer_automation"] == "* * * * *"


async def test_the_api_answers_json_for_the_job(world: World) -> None:
    # Without a job engine in this process, Run now says so (no 500).
    async with world.login() as client:
        await client.put(URL, json={"marketplaceUser": NORTHWIND})
        answer = await client.post(f"{URL}/run")
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "NoJobQueue"
        assert isinstance(answer, httpx.Response)
