"""The job engine on both databases: a submitted job is run by a worker to its end, recorded in
psasync's jobs table, retried after an unexpected failure, and at most one waits per queueing
lock (Procrastinate on PostgreSQL; its in-memory connector inside the process on SQLite)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import procrastinate
import pytest

from psasync.config import Settings
from psasync.jobs.app import ProcrastinateQueue, create_job_app, ensure_queue_schema
from psasync.services import Actor, Services
from psasync.services import jobs as job_service
from psasync.services.errors import Conflict, Invalid, NotFound
from psasync.store import Database, JobKind, JobStatus
from tests.integration.store.rows import add_tenant

pytestmark = pytest.mark.anyio

KIND = JobKind.RECONCILE


@pytest.fixture
async def engine(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Services, procrastinate.App]]:
    app = create_job_app(database.url)
    async with app.open_async():
        await ensure_queue_schema(app, database.url)
        services = Services(
            settings=Settings(database_url=database.url),
            db=database,
            http=httpx.AsyncClient(),
            secret_box=None,
            queue=ProcrastinateQueue(app),
        )
        monkeypatch.setitem(job_service.RUNNERS, KIND, counting_runner)
        yield services, app
        await services.http.aclose()


calls: list[int] = []


async def counting_runner(
    _services: Services, job: job_service.JobView, progress: job_service.Progress
) -> dict[str, Any]:
    calls.append(job.id)
    await progress(1, 2)
    if job.params.get("fail_first") and job.attempts == 1:
        raise RuntimeError("the worker's database connection dropped")
    if job.params.get("refuse"):
        raise Invalid("nothing to reconcile", code="Nothing")
    await progress(2, 2)
    return {"seen": job.params}


async def work(app: procrastinate.App, services: Services) -> None:
    """Run a worker until the queue is empty."""
    await app.run_worker_async(
        wait=False, install_signal_handlers=False, additional_context={"services": services}
    )


async def test_a_submitted_job_is_run_and_recorded(
    engine: tuple[Services, procrastinate.App],
) -> None:
    services, app = engine
    actor = Actor(tenant_id=await add_tenant(services.db), name="anna")
    submitted = await job_service.submit(services, actor, KIND, {"customers": ["1"]})
    assert submitted.status is JobStatus.QUEUED
    await work(app, services)
    done = await job_service.get_job(services, actor, submitted.id)
    assert done.status is JobStatus.SUCCEEDED
    assert (done.progress_done, done.progress_total) == (2, 2)
    assert done.result == {"seen": {"customers": ["1"]}}
    assert done.started_at is not None and done.finished_at is not None
    page = await job_service.list_jobs(services, actor, kind=KIND)
    assert [job.id for job in page.items] == [submitted.id] and page.total == 1


async def test_an_unexpected_failure_is_retried_and_a_refusal_ends_the_job(
    engine: tuple[Services, procrastinate.App],
) -> None:
    services, app = engine
    actor = Actor(tenant_id=await add_tenant(services.db), name="anna")
    flaky = await job_service.submit(services, actor, KIND, {"fail_first": True})
    refused = await job_service.submit(services, actor, KIND, {"refuse": True})
    for _ in range(20):  # the retry waits a moment before it is due
        await work(app, services)
        if (await job_service.get_job(services, actor, flaky.id)).status is JobStatus.SUCCEEDED:
            break
        await asyncio.sleep(0.5)
    again = await job_service.get_job(services, actor, flaky.id)
    assert (again.status, again.attempts) == (JobStatus.SUCCEEDED, 2)
    ended = await job_service.get_job(services, actor, refused.id)
    assert (ended.status, ended.error, ended.attempts) == (
        JobStatus.FAILED,
        "nothing to reconcile",
        1,
    )


async def test_one_job_waits_per_queueing_lock(
    engine: tuple[Services, procrastinate.App],
) -> None:
    services, _app = engine
    actor = Actor(tenant_id=await add_tenant(services.db), name="automation")
    lock = f"automation:{actor.tenant_id}"
    first = await job_service.submit(services, actor, KIND, {}, queueing_lock=lock)
    with pytest.raises(Conflict) as busy:
        await job_service.submit(services, actor, KIND, {}, queueing_lock=lock)
    assert busy.value.code == "JobQueued"
    page = await job_service.list_jobs(services, actor)
    statuses = {job.id: job.status for job in page.items}
    assert statuses[first.id] is JobStatus.QUEUED
    assert sorted(statuses.values()) == sorted([JobStatus.QUEUED, JobStatus.CANCELLED])


async def test_another_tenants_job_is_not_found(
    engine: tuple[Services, procrastinate.App],
) -> None:
    services, _app = engine
    mine = Actor(tenant_id=await add_tenant(services.db, "1"), name="anna")
    other = Actor(tenant_id=await add_tenant(services.db, "2"), name="ben")
    job = await job_service.submit(services, mine, KIND, {})
    with pytest.raises(NotFound) as missing:
        await job_service.get_job(services, other, job.id)
    assert missing.value.code == "JobNotFound"


# A job that fans out: its parts run as work of their own, and the job ends with the last. --------

FAN_OUT = JobKind.SYNC_BULK
parts_run: list[str] = []
finishes: list[list[dict[str, Any]]] = []


async def fanning_runner(
    _services: Services, job: job_service.JobView, _progress: job_service.Progress
) -> job_service.FanOut:
    keys = tuple(str(key) for key in job.params["keys"])
    locks = {key: f"part:{key}" for key in keys}
    return job_service.FanOut(keys=keys, interim={"asked": len(keys)}, locks=locks)


async def part_runner(_services: Services, job: job_service.JobView, key: str) -> dict[str, Any]:
    parts_run.append(key)
    if key in job.params.get("crash_once", []) and parts_run.count(key) == 1:
        raise RuntimeError("the worker's database connection dropped mid-part")
    return {"key": key}


async def finisher(
    _services: Services,
    _job: job_service.JobView,
    interim: dict[str, Any],
    parts: list[dict[str, Any]],
) -> dict[str, Any]:
    finishes.append(parts)
    return {**interim, "keys": [part["key"] for part in parts]}


@pytest.fixture
def fanning(monkeypatch: pytest.MonkeyPatch) -> None:
    parts_run.clear()
    finishes.clear()
    monkeypatch.setitem(job_service.RUNNERS, FAN_OUT, fanning_runner)
    monkeypatch.setitem(job_service.PARTS, FAN_OUT, job_service.PartsOf(part_runner, finisher))


@pytest.mark.usefixtures("fanning")
async def test_a_fanned_out_job_ends_once_after_its_last_part(
    engine: tuple[Services, procrastinate.App],
) -> None:
    services, app = engine
    actor = Actor(tenant_id=await add_tenant(services.db), name="anna")
    submitted = await job_service.submit(services, actor, FAN_OUT, {"keys": [3, 1, 2]})
    await work(app, services)
    done = await job_service.get_job(services, actor, submitted.id)
    assert done.status is JobStatus.SUCCEEDED
    # Every part once, the end once, the results in the order of the keys.
    assert sorted(parts_run) == ["1", "2", "3"]
    assert len(finishes) == 1
    assert done.result == {"asked": 3, "keys": ["3", "1", "2"]}
    assert (done.progress_done, done.progress_total) == (3, 3)
    # Parts and ends queued again (a retried job, a repeated end) change nothing.
    await job_service.finish(services, submitted.id)
    await job_service.run_part(services, submitted.id, "1")
    assert sorted(parts_run) == ["1", "2", "3"] and len(finishes) == 1


@pytest.mark.usefixtures("fanning")
async def test_a_part_that_crashes_is_retried_and_the_job_still_ends(
    engine: tuple[Services, procrastinate.App],
) -> None:
    services, app = engine
    actor = Actor(tenant_id=await add_tenant(services.db), name="anna")
    submitted = await job_service.submit(
        services, actor, FAN_OUT, {"keys": [1, 2], "crash_once": ["2"]}
    )
    for _ in range(20):  # the retry waits a moment before it is due
        await work(app, services)
        done = await job_service.get_job(services, actor, submitted.id)
        if done.status is not JobStatus.RUNNING:
            break
        await asyncio.sleep(0.5)
    assert done.status is JobStatus.SUCCEEDED, done
    assert parts_run.count("2") == 2 and parts_run.count("1") == 1
    assert done.result == {"asked": 2, "keys": ["1", "2"]}


@pytest.mark.usefixtures("fanning")
async def test_the_end_waits_for_every_part(engine: tuple[Services, procrastinate.App]) -> None:
    services, _app = engine
    actor = Actor(tenant_id=await add_tenant(services.db), name="anna")
    submitted = await job_service.submit(services, actor, FAN_OUT, {"keys": [1, 2]})
    await job_service.run_job(services, submitted.id)
    await job_service.run_part(services, submitted.id, "1")
    assert await job_service.finish(services, submitted.id) is None  # part 2 has not run
    running = await job_service.get_job(services, actor, submitted.id)
    assert running.status is JobStatus.RUNNING
    # What the job learned so far is kept for its end, never shown as its result.
    assert (running.result, running.interim) == (None, {"asked": 2})
    await job_service.run_part(services, submitted.id, "2")
    ended = await job_service.finish(services, submitted.id)
    assert ended is not None and ended.status is JobStatus.SUCCEEDED
    assert finishes == [[{"key": "1"}, {"key": "2"}]]


@pytest.mark.usefixtures("fanning")
async def test_a_job_without_parts_ends_at_once(
    engine: tuple[Services, procrastinate.App],
) -> None:
    services, app = engine
    actor = Actor(tenant_id=await add_tenant(services.db), name="anna")
    submitted = await job_service.submit(services, actor, FAN_OUT, {"keys": []})
    await work(app, services)
    done = await job_service.get_job(services, actor, submitted.id)
    assert (done.status, done.result) == (JobStatus.SUCCEEDED, {"asked": 0, "keys": []})
