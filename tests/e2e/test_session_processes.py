"""Sessions and locks across real ``psasync serve`` processes (DESIGN §7): a restart logs no one
out, any process serves any session, and one Check Changes runs per tenant in all of them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from psasync.sandbox.faults import FaultSettings
from psasync.sandbox.fixture import DEMO_FIXTURE, load_fixture
from psasync.sandbox.server import Sandbox, build_sandbox, serve_in_thread
from psasync.store import Database
from tests.databases import open_database
from tests.e2e.processes import AppProcess, app_environment, serving

pytestmark = pytest.mark.anyio

COOKIE = "psasync_session"


@dataclass
class Stage:
    sandbox: Sandbox
    sandbox_url: str
    database_url: str
    logs: Path

    def environment(self) -> dict[str, str]:
        return app_environment(sandbox_url=self.sandbox_url, database_url=self.database_url)


def _stage(database_url: str, logs: Path) -> Iterator[Stage]:
    sandbox = build_sandbox(load_fixture(DEMO_FIXTURE))
    with serve_in_thread(sandbox.app) as url:
        yield Stage(sandbox=sandbox, sandbox_url=url, database_url=database_url, logs=logs)


@pytest.fixture
def stage(database: Database, tmp_path: Path) -> Iterator[Stage]:
    """On the ``database`` fixture's SQLite and PostgreSQL."""
    yield from _stage(database.url, tmp_path)


@pytest.fixture
async def postgres_stage(tmp_path: Path) -> AsyncIterator[Stage]:
    """On PostgreSQL only: several processes on one database server."""
    async with open_database("postgresql", tmp_path) as database:
        for made in _stage(database.url, tmp_path):
            yield made


@pytest.fixture
async def clients() -> AsyncIterator[list[httpx.AsyncClient]]:
    made: list[httpx.AsyncClient] = []
    yield made
    for client in made:
        await client.aclose()


def browser(
    app: AppProcess, clients: list[httpx.AsyncClient], cookie: str, csrf: str
) -> httpx.AsyncClient:
    """A client on ``app`` that presents an existing session's cookie and token."""
    client = httpx.AsyncClient(base_url=app.url, timeout=300, headers={"X-CSRF-Token": csrf})
    client.cookies.set(COOKIE, cookie)
    clients.append(client)
    return client


async def test_a_restart_logs_no_one_out(stage: Stage, clients: list[httpx.AsyncClient]) -> None:
    with serving(stage.environment(), stage.logs / "first.log") as first:
        client = await first.login()
        clients.extend(first.clients)
        cookie, csrf = client.cookies[COOKIE], client.headers["X-CSRF-Token"]
        assert (await client.get("/api/v1/auth/session")).status_code == 200
    with serving(stage.environment(), stage.logs / "second.log") as second:
        again = browser(second, clients, cookie, csrf)
        answer = await again.get("/api/v1/auth/session")
        assert answer.status_code == 200, answer.text
        assert answer.json()["csrfToken"] == csrf
        # The stored marketplace token reads the marketplace in the new process.
        checked = await again.post("/api/v1/connectwise/check-changes")
        assert checked.status_code == 200 and checked.json()["created"] > 10, checked.text
        page = await again.get("/integrations/connectwise/automation")
        assert page.status_code == 200 and "Automation" in page.text


async def test_two_processes_serve_one_session_alternately(
    postgres_stage: Stage, clients: list[httpx.AsyncClient]
) -> None:
    stage = postgres_stage
    with (
        serving(stage.environment(), stage.logs / "a.log") as a,
        serving(stage.environment(), stage.logs / "b.log") as b,
    ):
        on_a = await a.login()
        clients.extend(a.clients)
        on_b = browser(b, clients, on_a.cookies[COOKIE], on_a.headers["X-CSRF-Token"])
        assert (await on_a.get("/api/v1/auth/session")).status_code == 200
        checked = await on_b.post("/api/v1/connectwise/check-changes")
        assert checked.status_code == 200 and checked.json()["created"] > 10, checked.text
        listed = await on_a.get("/api/v1/connectwise/tasks")
        assert listed.status_code == 200 and listed.json()["total"] == checked.json()["created"]
        # Logging out on B ends the session on A too.
        assert (await on_b.post("/api/v1/auth/logout")).status_code == 204
        assert (await on_a.get("/api/v1/auth/session")).status_code == 401


async def test_two_processes_run_one_check_changes_per_tenant(
    stage: Stage, clients: list[httpx.AsyncClient]
) -> None:
    with (
        serving(stage.environment(), stage.logs / "a.log") as a,
        serving(stage.environment(), stage.logs / "b.log") as b,
    ):
        on_a, on_b = await a.login(), await b.login()  # two users of one reseller account
        clients.extend([*a.clients, *b.clients])
        # A slow marketplace: each Check Changes takes seconds, so the two overlap.
        stage.sandbox.faults.configure(FaultSettings(latency_ms=400, path_prefix="/marketplace"))
        started = time.monotonic()

        async def check(client: httpx.AsyncClient) -> tuple[httpx.Response, float]:
            answer = await client.post("/api/v1/connectwise/check-changes")
            return answer, time.monotonic() - started

        first = asyncio.create_task(check(on_a))
        await asyncio.sleep(0.3)  # A has claimed the tenant's lock and is reading
        refused, refused_after = await check(on_b)
        ran, ran_after = await first
        stage.sandbox.faults.configure(FaultSettings())

        assert ran.status_code == 200 and ran.json()["created"] > 10, ran.text
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "CheckRunning"
        # Refused at once, while A still ran: B did not read the marketplace to find out.
        assert refused_after < ran_after / 2, (refused_after, ran_after)
        tasks = (await on_b.get("/api/v1/connectwise/tasks", params={"limit": 500})).json()
        orders = [item["orderId"] for item in tasks["items"]]
        assert len(orders) == len(set(orders)) == ran.json()["created"]
