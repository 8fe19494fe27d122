"""Automation on real processes (DESIGN §2, §8): one ``psasync serve`` and two ``psasync worker``
on one PostgreSQL database, a generated fixture of 500 new orders, automation switched on through
the API and "Run now".

The run checks, then settles each task as a part of its own that either worker takes (one lock
per task). Every task ends synced or waiting with its reason, and ConnectWise (read around
psasync) holds each idempotency key once. A worker killed with ``kill -9`` mid-run leaves the
tasks it was syncing "doing", their locks held; once the dead worker's heartbeat is old, the
periodic ``retry_stalled_jobs`` hands them back, the other worker resumes the syncs the dead
one had begun and the run ends — again with 0 duplicates.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from psasync.adapters.connectwise import ConnectWiseClient, ConnectWiseSite
from psasync.domain.billing import add_months
from psasync.jobs.app import libpq_conninfo
from psasync.sandbox.fixture import parse_fixture
from psasync.sandbox.generate import CONNECTWISE_CREDENTIALS, LOGIN, generate_fixture
from psasync.sandbox.server import Sandbox, build_sandbox, serve_in_thread
from psasync.store import Database
from tests.e2e.processes import (
    AppProcess,
    WorkerProcess,
    app_environment,
    serving,
    working,
)

pytestmark = [
    pytest.mark.anyio,
    # `psasync worker` refuses SQLite: its queue lives in one process's memory.
    pytest.mark.parametrize("database", ["postgresql"], indirect=True),
]

API = "/api/v1"
AUTOMATION = f"{API}/connectwise/automation"
GATEWAY_KEY = "bench-us-gateway-key"  # the generated fixture's marketplace subscription key
ORDERS = 500
KILLED_ORDERS = 200  # the kill test waits ~30-40 s for the stalled job: fewer orders, same paths
ORDERS_PER_AGREEMENT = 4
ON = {
    "schedule": {"every": None},  # "Run now" only: the test decides when a run starts
    "autoSync": {
        "orderTypes": ["sales", "change", "billing", "renewal", "cancellation"],
        "priceSource": "marketplace",
        "allowCredits": True,
        "maxAmount": "1000000.00",
    },
    "notify": {"emails": [], "webhookUrl": None},
    "marketplaceUser": LOGIN,
}
# A short lease and quiet period: a killed worker's claim lapses in seconds, and a write whose
# answer was lost is looked for for a few seconds rather than 75.
SETTINGS = {"sync_lease_seconds": "4", "unknown_outcome_quiet_seconds": "3"}
RUN_TIMEOUT = 300.0  # a liveness bound on a shared 2-core machine, not a speed goal (bench/)


@dataclass
class Stage:
    sandbox: Sandbox
    sandbox_url: str
    database_url: str
    agreements: tuple[int, ...]
    orders: int
    logs: Path

    def environment(self) -> dict[str, str]:
        return app_environment(
            sandbox_url=self.sandbox_url,
            database_url=self.database_url,
            subscription_key=GATEWAY_KEY,
            **SETTINGS,
        )

    async def keys(self) -> Counter[str]:
        """Every idempotency key on every agreement, read from the sandbox around psasync."""
        site = ConnectWiseSite(
            site_url=self.sandbox_url,
            company_id=CONNECTWISE_CREDENTIALS["companyId"],
            public_key=CONNECTWISE_CREDENTIALS["publicKey"],
            private_key=CONNECTWISE_CREDENTIALS["privateKey"],
            client_id=CONNECTWISE_CREDENTIALS["clientId"],
        )
        gate = asyncio.Semaphore(8)
        async with httpx.AsyncClient(timeout=60) as http:
            client = ConnectWiseClient(http, site)

            async def keys_of(agreement: int) -> list[str]:
                async with gate:
                    return [a.sync_key for a in await client.additions(agreement) if a.sync_key]

            found = await asyncio.gather(*(keys_of(a) for a in self.agreements))
        return Counter(key for keys in found for key in keys)


@pytest.fixture
def orders() -> int:
    """New orders in the generated fixture (a test may parametrize it)."""
    return ORDERS


@pytest.fixture
def stage(database: Database, orders: int, tmp_path: Path) -> Iterator[Stage]:
    """The generated fixture (new orders last month, every one syncable) on a sandbox thread."""
    month = add_months(dt.datetime.now(dt.UTC).date().replace(day=1), -1)
    data = generate_fixture(
        customers=orders // ORDERS_PER_AGREEMENT,
        subscriptions=orders,
        orders=orders,
        month=month,
        seed=15,
    )
    agreements = tuple(int(a["id"]) for a in data["connectwise"]["agreements"])
    sandbox = build_sandbox(parse_fixture(data, source="generated"))
    with serve_in_thread(sandbox.app) as url:
        yield Stage(sandbox, url, database.url, agreements, orders, tmp_path)


@pytest.fixture
async def apps() -> AsyncIterator[list[AppProcess]]:
    started: list[AppProcess] = []
    yield started
    for app in started:
        for client in app.clients:
            await client.aclose()


async def switch_on(app: AppProcess, stage: Stage) -> httpx.AsyncClient:
    """Logged in on ``app``: ConnectWise connected, the integration user and the policy set."""
    client = await app.login({"marketplace": "us", **LOGIN})
    connect = {"siteUrl": stage.sandbox_url, **CONNECTWISE_CREDENTIALS}
    answer = await client.put(f"{API}/integrations/connectwise", json=connect)
    assert answer.status_code == 200, answer.text
    answer = await client.put(AUTOMATION, json=ON)
    assert answer.status_code == 200, answer.text
    assert answer.json()["marketplaceUser"]["username"] == LOGIN["username"]
    return client


async def run_now(client: httpx.AsyncClient) -> int:
    answer = await client.post(f"{AUTOMATION}/run")
    assert answer.status_code == 202, answer.text
    job: dict[str, Any] = answer.json()["job"]
    assert (job["kind"], job["status"]) == ("automation", "queued")
    return int(job["id"])


async def job_of(client: httpx.AsyncClient, job_id: int) -> dict[str, Any]:
    answer = await client.get(f"{API}/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()
    return job


async def ended(client: httpx.AsyncClient, job_id: int, workers: list[WorkerProcess]) -> Any:
    """The job once it has ended (succeeded or failed)."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        job = await job_of(client, job_id)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, (job, [w.output()[-3000:] for w in workers])
        await asyncio.sleep(0.5)


async def every_task(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = {"limit": 500, "offset": len(items)}
        answer = await client.get(f"{API}/connectwise/tasks", params=page)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["items"]
        if not body["items"] or len(items) >= body["total"]:
            return items


async def assert_converged(client: httpx.AsyncClient, stage: Stage, job: dict[str, Any]) -> None:
    """Every task synced or waiting with its reason, none failed or left busy, and every key
    on ConnectWise once."""
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["failed"] == [] and result["busy"] == [], result
    tasks = await every_task(client)
    assert len(tasks) == stage.orders
    for task in tasks:
        synced = task["status"] == "synced" and task["waitingReason"] is None
        waiting = task["status"] == "new" and bool(task["waitingReason"])
        assert synced or waiting, task
    synced = sum(task["status"] == "synced" for task in tasks)
    assert synced >= stage.orders // 2, Counter(task["waitingReason"] for task in tasks)
    keys = await stage.keys()
    duplicates = {key: count for key, count in keys.items() if count > 1}
    assert duplicates == {}
    assert sum(key.startswith("task:") for key in keys) >= synced


async def test_two_workers_auto_sync_500_orders_without_a_duplicate(
    stage: Stage, apps: list[AppProcess]
) -> None:
    environment = stage.environment()
    with ExitStack() as stack:
        # serve first: it installs the queue's tables before any worker starts.
        app = stack.enter_context(serving(environment, stage.logs / "serve.log"))
        apps.append(app)
        workers = [
            stack.enter_context(working(environment, stage.logs / f"worker-{n}.log"))
            for n in (1, 2)
        ]
        client = await switch_on(app, stage)
        job = await ended(client, await run_now(client), workers)
        assert job["result"]["counts"]["newTasks"] == ORDERS, job["result"]["counts"]
        await assert_converged(client, stage, job)
        assert job["progress"] == {"done": ORDERS, "total": ORDERS}
        assert all(worker.alive for worker in workers)

        # Run again: nothing new, nothing decided or written twice.
        before = await stage.keys()
        again = await ended(client, await run_now(client), workers)
        assert again["status"] == "succeeded", again
        assert again["result"]["counts"]["newTasks"] == 0
        assert again["result"]["counts"]["synced"] == 0
        assert await stage.keys() == before


@pytest.mark.parametrize("orders", [KILLED_ORDERS])
async def test_a_worker_killed_mid_run_is_replaced_by_the_other_and_the_run_converges(
    stage: Stage, apps: list[AppProcess]
) -> None:
    environment = stage.environment()
    with ExitStack() as stack:
        app = stack.enter_context(serving(environment, stage.logs / "serve.log"))
        apps.append(app)
        workers = [
            stack.enter_context(working(environment, stage.logs / f"worker-{n}.log"))
            for n in (1, 2)
        ]
        client = await switch_on(app, stage)
        job_id = await run_now(client)
        await _progressed(client, job_id, stage.orders // 4)
        doomed, survivor = workers
        assert "synced to agreement" in doomed.output(), "both workers take the run's tasks"
        doomed.kill()  # mid-run: its tasks being synced stay "doing", their locks held
        killed_at = time.monotonic()

        assert await _parts_doing(stage, job_id) >= 1
        job = await ended(client, job_id, workers)
        retried_after = time.monotonic() - killed_at
        assert "retried job" in survivor.output()
        await assert_converged(client, stage, job)
        assert job["progress"] == {"done": stage.orders, "total": stage.orders}
        # At most the dead worker's tasks in hand (its concurrency) were cut off; the retries
        # resumed them from their journal.
        assert sum(bool(item["resumed"]) for item in job["result"]["synced"]) <= 4
        # Heartbeats every 10 s, stalled after 30 s, looked for every 10 s.
        assert retried_after < 110, retried_after


async def _progressed(client: httpx.AsyncClient, job_id: int, done: int) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        job = await job_of(client, job_id)
        assert job["status"] in ("queued", "running"), job
        if job["progress"]["done"] >= done:
            return
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.05)


async def _one(stage: Stage, query: str, job_id: int) -> Any:
    async with await psycopg.AsyncConnection.connect(
        libpq_conninfo(stage.database_url)
    ) as connection:
        row = await (await connection.execute(query, (job_id,))).fetchone()
    assert row is not None, job_id
    return row[0]


async def _parts_doing(stage: Stage, job_id: int) -> int:
    """How many parts of psasync job ``job_id`` Procrastinate has as being run right now."""
    query = (
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'psasync:run_job_part' "
        "AND status = 'doing' AND (args->>'job_id')::int = %s"
    )
    return int(await _one(stage, query, job_id))
