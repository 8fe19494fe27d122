"""Bulk sync as a background job, through the REST API, with a real Procrastinate worker (in
memory on SQLite, psycopg on PostgreSQL): submitted by ids or by a filter, progress and each
task's outcome at GET /api/v1/jobs/{id}, a repeat and a crashed worker converge with nothing
written twice, jobs scoped to their reseller, bad bodies refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import procrastinate
import pytest

from psasync.jobs.app import ProcrastinateQueue, create_job_app, ensure_queue_schema, is_postgresql
from psasync.services import Services
from psasync.services import jobs as job_service
from psasync.services import sync as sync_service
from tests.e2e.conftest import CONTOSO, NORTHWIND, World, task_id

pytestmark = pytest.mark.anyio

SYNC_BULK = "/api/v1/connectwise/tasks/sync-bulk"
GREEN_LANE_MANAGED = 1201  # Green Lane's one eligible agreement (CH0000417)
# The demo's tasks with exactly one eligible agreement, and those with none.
ONE_ELIGIBLE = ["CH0000417", "CH0000418", "SO0000392"]
NONE_ELIGIBLE = ["SO0000393", "CH0000420"]


class WorkerDied(BaseException):
    """The process ends here: no handler of the product's catches it (as with kill -9)."""


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
    """The world's services with a job queue; the test runs the worker when it wants."""
    url = world.services.settings.database_url
    app = create_job_app(url)
    async with app.open_async():
        await ensure_queue_schema(app, url)
        if is_postgresql(url):  # another test's queue rows would name this test's job ids
            await app.connector.execute_query_async(
                "TRUNCATE procrastinate_jobs RESTART IDENTITY CASCADE"
            )
        world.services.queue = ProcrastinateQueue(app)
        try:
            yield Worker(app, world.services)
        finally:
            world.services.queue = None


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """Northwind, ConnectWise connected, tasks checked, the integration user set (bulk sync
    reads the marketplace as that user in the background)."""
    async with world.ready() as ready:
        answer = await ready.put(
            "/api/v1/connectwise/automation", json={"marketplaceUser": NORTHWIND}
        )
        assert answer.status_code == 200, answer.text
        yield ready


async def ids(client: httpx.AsyncClient, orders: list[str]) -> list[int]:
    return [await task_id(client, order) for order in orders]


async def job_of(client: httpx.AsyncClient, job_id: int) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()
    return job


async def submitted(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(SYNC_BULK, json=body)
    assert answer.status_code == 202, answer.text
    job: dict[str, Any] = answer.json()["job"]
    return job


def keyed(additions: list[Any]) -> list[str]:
    return [a.sync_key for a in additions if a.sync_key]


async def every_key(world: World, agreements: set[int]) -> list[str]:
    found: list[str] = []
    for agreement in sorted(agreements):
        found += keyed(await world.additions(agreement))
    return found


async def test_a_bulk_sync_by_ids_runs_as_a_job_with_progress_and_each_tasks_outcome(
    worker: Worker, client: httpx.AsyncClient
) -> None:
    tasks = await ids(client, [*ONE_ELIGIBLE, *NONE_ELIGIBLE])
    job = await submitted(client, {"taskIds": list(reversed(tasks)), "agreement": "auto"})
    assert (job["kind"], job["status"], job["actor"]) == (
        "sync_bulk",
        "queued",
        NORTHWIND["username"],
    )
    assert job["progress"] == {"done": 0, "total": None} and job["result"] is None
    queued = (await client.get("/api/v1/jobs", params={"kind": "sync_bulk"})).json()
    assert queued["total"] == 1 and queued["items"][0]["id"] == job["id"]

    await worker.run()

    done = await job_of(client, job["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"] == {"done": 5, "total": 5}
    assert done["startedAt"] and done["finishedAt"] and done["error"] is None
    result = done["result"]
    assert (result["total"], result["synced"], result["skipped"], result["failed"]) == (5, 3, 2, 0)
    outcome = {entry["taskId"]: entry for entry in result["tasks"]}
    assert [outcome[t]["result"] for t in tasks] == ["synced"] * 3 + ["skipped"] * 2
    assert outcome[tasks[0]]["agreementId"] == GREEN_LANE_MANAGED
    assert outcome[tasks[3]]["code"] == "NoEligibleAgreement"
    assert "no eligible agreement" in outcome[tasks[3]]["message"]
    # Oldest order first, whatever order the ids came in.
    created = {
        t: (await client.get(f"/api/v1/connectwise/tasks/{t}")).json()["createdAt"] for t in tasks
    }
    assert [entry["taskId"] for entry in result["tasks"]] == sorted(
        tasks, key=lambda t: (created[t], t)
    )
    for task in tasks[:3]:
        state = (await client.get(f"/api/v1/connectwise/tasks/{task}")).json()
        assert state["status"] == "synced"
    history = (await client.get("/api/v1/connectwise/history")).json()["items"]
    assert {item["user"] for item in history} == {NORTHWIND["username"]}
    assert len(history) == 3


async def test_a_bulk_sync_by_filter_takes_the_new_tasks_it_finds_and_a_repeat_converges(
    world: World, worker: Worker, client: httpx.AsyncClient
) -> None:
    green_lane = await task_id(client, "CH0000417")
    first = await submitted(client, {"filter": {"q": "Green Lane"}, "priceSource": "marketplace"})
    await worker.run()
    done = await job_of(client, first["id"])
    assert done["status"] == "succeeded", done
    assert [(e["taskId"], e["result"]) for e in done["result"]["tasks"]] == [(green_lane, "synced")]
    after_first = await every_key(world, {GREEN_LANE_MANAGED})
    assert sorted(after_first) == [
        f"task:{green_lane}:line1:prorate",
        f"task:{green_lane}:line1:recurring",
    ]

    # The same task again, by id: reported synced, nothing written twice.
    again = await submitted(client, {"taskIds": [green_lane]})
    await worker.run()
    repeat = await job_of(client, again["id"])
    assert repeat["status"] == "succeeded", repeat
    (entry,) = repeat["result"]["tasks"]
    assert (entry["result"], entry["message"]) == ("synced", "already synced")
    assert await every_key(world, {GREEN_LANE_MANAGED}) == after_first

    # By filter it is not new any more: nothing to sync, nothing queued.
    nothing = await client.post(SYNC_BULK, json={"filter": {"q": "Green Lane"}})
    assert nothing.status_code == 422 and nothing.json()["error"]["code"] == "NothingToSync"
    assert (await client.get("/api/v1/jobs")).json()["total"] == 2


async def test_a_worker_that_dies_mid_job_is_replaced_and_the_job_converges(
    world: World, worker: Worker, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's tasks are parts of their own. The first is synced; the worker syncing the
    second dies in the middle of its writes; the queue still holds what was not finished (and
    the job itself, as a worker that died would leave it): another worker runs it again — the
    first is not synced again, the second resumes from its journal, the third is synced — one
    addition per key."""
    tasks = await ids(client, ONE_ELIGIBLE)
    job = await submitted(client, {"taskIds": tasks})
    first, second, third = tasks
    # The worker's own entry points, as a worker runs them: the job fans out, then its parts.
    await job_service.run_job(world.services, job["id"])
    await job_service.run_part(world.services, job["id"], str(first))
    real_record = sync_service._Applier._record
    writes = 0

    async def die_at_the_second_write(applier: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal writes
        writes += 1
        if writes == 2:
            raise WorkerDied  # the second write reached ConnectWise, unrecorded
        await real_record(applier, *args, **kwargs)

    monkeypatch.setattr(sync_service._Applier, "_record", die_at_the_second_write)
    with pytest.raises(WorkerDied):
        await job_service.run_part(world.services, job["id"], str(second))
    monkeypatch.setattr(sync_service._Applier, "_record", real_record)
    cut = await job_of(client, job["id"])
    assert cut["status"] == "running" and cut["progress"] == {"done": 1, "total": 3}

    await worker.run()  # another worker runs what the queue still holds

    done = await job_of(client, job["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"] == {"done": 3, "total": 3}, str(done)
    outcome = {entry["taskId"]: entry for entry in done["result"]["tasks"]}
    assert [entry["taskId"] for entry in done["result"]["tasks"]] == tasks
    assert [outcome[t]["result"] for t in tasks] == ["synced"] * 3
    assert "(resumed)" in outcome[second]["message"]
    assert "(resumed)" not in outcome[first]["message"] + outcome[third]["message"]
    agreements = {outcome[t]["agreementId"] for t in tasks}
    keys = await every_key(world, agreements)
    assert len(keys) == len(set(keys)) and keys
    assert {key.split(":")[1] for key in keys} == {str(t) for t in tasks}


@pytest.mark.usefixtures("worker")
async def test_jobs_belong_to_their_reseller(world: World, client: httpx.AsyncClient) -> None:
    green_lane = await task_id(client, "CH0000417")
    job = await submitted(client, {"taskIds": [green_lane]})
    async with world.login(CONTOSO) as contoso:
        assert (await contoso.get(f"/api/v1/jobs/{job['id']}")).status_code == 404
        assert (await contoso.get("/api/v1/jobs")).json() == {"items": [], "total": 0}
        # Another reseller's task cannot be named either: 404, nothing queued.
        refused = await contoso.post(SYNC_BULK, json={"taskIds": [green_lane]})
        assert refused.status_code in (404, 422), refused.text
        assert refused.json()["error"]["code"] in ("TaskNotFound", "NotConfigured")
    assert (await client.get("/api/v1/jobs")).json()["total"] == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "InvalidRequest"),
        ({"taskIds": [1], "filter": {}}, 422, "InvalidRequest"),
        ({"taskIds": []}, 422, "InvalidRequest"),
        ({"taskIds": ["1"]}, 422, "InvalidRequest"),
        ({"taskIds": [0]}, 422, "InvalidRequest"),
        ({"taskIds": [2**31]}, 422, "InvalidRequest"),
        ({"taskIds": [1] * 501}, 422, "InvalidRequest"),
        ({"filter": {"status": "synced"}}, 422, "InvalidRequest"),
        ({"filter": {"orderType": "barter"}}, 422, "InvalidRequest"),
        ({"filter": {"q": "\u0000"}}, 422, "InvalidRequest"),
        ({"filter": {}, "agreement": "any"}, 422, "InvalidRequest"),
        ({"filter": {}, "agreement": True}, 422, "InvalidRequest"),
        ({"filter": {}, "priceSource": "cheapest"}, 422, "InvalidRequest"),
        ({"filter": {}, "extra": 1}, 422, "InvalidRequest"),
        ({"taskIds": [999999]}, 404, "TaskNotFound"),
        ({"filter": {"orderType": "billing", "q": "nobody"}}, 422, "NothingToSync"),
    ],
)
@pytest.mark.usefixtures("worker")
async def test_a_bad_body_is_refused_and_queues_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, code: str
) -> None:
    answer = await client.post(SYNC_BULK, json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and error["message"]
    assert (await client.get("/api/v1/jobs")).json()["total"] == 0


async def test_bulk_sync_needs_a_queue_and_the_integration_user(world: World) -> None:
    async with world.ready() as client:
        green_lane = await task_id(client, "CH0000417")
        no_queue = await client.post(SYNC_BULK, json={"taskIds": [green_lane]})
        assert no_queue.status_code == 422 and no_queue.json()["error"]["code"] == "NoJobQueue"
        world.services.queue = _NeverRuns()
        try:
            no_user = await client.post(SYNC_BULK, json={"taskIds": [green_lane]})
        finally:
            world.services.queue = None
        assert no_user.status_code == 422
        assert no_user.json()["error"]["code"] == "NoIntegrationUser"
        assert "integration user" in no_user.json()["error"]["message"]
        assert (await client.get("/api/v1/jobs")).json()["total"] == 0


class _NeverRuns:
    async def enqueue(self, job_id: int, **_locks: str | None) -> None:
        raise AssertionError(f"nothing may be queued (job {job_id})")

    async def enqueue_part(self, job_id: int, key: str, **_locks: str | None) -> None:
        raise AssertionError(f"nothing may be queued (job {job_id}, part {key})")

    async def enqueue_finish(self, job_id: int) -> None:
        raise AssertionError(f"nothing may be queued (end of job {job_id})")


@pytest.mark.parametrize(
    ("query", "code"),
    [({"kind": "nap"}, "InvalidFilter"), ({"status": "done"}, "InvalidFilter")],
)
async def test_a_bad_job_filter_is_a_clear_400(
    world: World, query: dict[str, str], code: str
) -> None:
    async with world.login() as client:
        answer = await client.get("/api/v1/jobs", params=query)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == code
        assert "must be one of" in answer.json()["error"]["message"]
        for bad in ("/api/v1/jobs/0", "/api/v1/jobs/x", "/api/v1/jobs?limit=0"):
            assert (await client.get(bad)).status_code == 422
        assert (await client.get("/api/v1/jobs/7")).status_code == 404
        assert (await client.get("/api/v1/jobs", params={"kind": "", "status": ""})).json() == {
            "items": [],
            "total": 0,
        }


# Pages ------------------------------------------------------------------------------------------


async def form_post(
    client: httpx.AsyncClient, path: str, fields: list[tuple[str, str]]
) -> httpx.Response:
    token = client.headers["X-CSRF-Token"]
    return await client.post(
        path,
        content=urlencode([*fields, ("csrf_token", token)]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def test_the_dashboard_buttons_start_a_job_and_its_page_follows_it(
    worker: Worker, client: httpx.AsyncClient
) -> None:
    green_lane, lakeside = await ids(client, ["CH0000417", "CH0000416"])
    dashboard = (await client.get("/integrations/connectwise")).text
    assert (
        'id="bulk-sync"' in dashboard
        and 'action="/integrations/connectwise/sync-bulk"' in dashboard
    )
    assert ">Sync selected</button>" in dashboard
    assert ">Sync all that can be synced</button>" in dashboard
    assert f'name="task_id" value="{green_lane}" form="bulk-sync"' in dashboard
    assert 'aria-label="Select Green Lane LLC' in dashboard

    nothing = await form_post(
        client, "/integrations/connectwise/sync-bulk", [("scope", "selected")]
    )
    assert nothing.status_code == 422 and "Tick the tasks to sync first" in nothing.text

    chosen = await form_post(
        client,
        "/integrations/connectwise/sync-bulk",
        [("task_id", str(green_lane)), ("scope", "selected"), ("price_source", "marketplace")],
    )
    assert chosen.status_code == 303
    job_url = chosen.headers["location"]
    assert job_url.startswith("/integrations/connectwise/jobs/")
    queued = (await client.get(job_url)).text
    assert "Queued" in queued and 'hx-trigger="every 2s"' in queued
    await worker.run()
    finished = (await client.get(job_url)).text
    assert 'hx-trigger="every 2s"' not in finished
    assert "1 synced, 0 skipped, 0 failed" in finished
    assert f'href="/integrations/connectwise/tasks/{green_lane}"' in finished
    assert 'max="1" value="1"' in finished

    everything = await form_post(
        client, "/integrations/connectwise/sync-bulk", [("scope", "all"), ("status", "")]
    )
    assert everything.status_code == 303
    await worker.run()
    all_job = (await client.get(everything.headers["location"])).text
    assert "Lakeside Family Clinic" in all_job and "cannot be synced yet" in all_job
    assert f'href="/integrations/connectwise/tasks/{lakeside}"' in all_job

    jobs = (await client.get("/integrations/connectwise/jobs")).text
    assert jobs.count('<td><a href="/integrations/connectwise/jobs/') == 2
    assert NORTHWIND["username"] in jobs and "<progress" in jobs
    assert "cannot be synced yet" in jobs  # a failure and its reason, on the list
    assert (await client.get("/integrations/connectwise/jobs/999")).status_code == 404


async def test_the_jobs_page_pages_and_polls_while_a_job_is_active(
    world: World, worker: Worker, client: httpx.AsyncClient
) -> None:
    green_lane = await task_id(client, "CH0000417")
    for _ in range(26):
        await submitted(client, {"taskIds": [green_lane]})
    first = (await client.get("/integrations/connectwise/jobs")).text
    assert "1–25 of 26" in first and 'hx-trigger="every 2s"' in first
    second = (await client.get("/integrations/connectwise/jobs", params={"offset": 25})).text
    assert second.count('<td><a href="/integrations/connectwise/jobs/') == 1
    await worker.run()
    done = (await client.get("/integrations/connectwise/jobs")).text
    assert 'hx-trigger="every 2s"' not in done
    async with world.login(CONTOSO) as contoso:
        assert (
            "No background jobs yet" in (await contoso.get("/integrations/connectwise/jobs")).text
        )
