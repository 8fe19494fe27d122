"""Never bill twice, with real processes: a run that outlives its lease keeps its task, a
``kill -9`` mid-write is resumed by exactly one other process, and a write ConnectWise applies
after psasync gave up on it is found rather than written again (DESIGN §6)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from psasync.adapters.connectwise import ConnectWiseClient, ConnectWiseSite
from psasync.sandbox.faults import FaultSettings
from psasync.sandbox.fixture import DEMO_FIXTURE, load_fixture
from psasync.sandbox.server import Sandbox, build_sandbox, serve_in_thread
from psasync.store import Database
from tests.e2e.processes import CONNECTWISE, AppProcess, app_environment, serving

pytestmark = pytest.mark.anyio

CEDAR_RIDGE = 1221  # the agreement Cedar Ridge's Sales Order (three creates) syncs to
ORDER = "SO0000392"
ADDITIONS = f"/v4_6_release/apis/3.0/finance/agreements/{CEDAR_RIDGE}/additions"
POSTS = frozenset({"POST"})


@dataclass
class Stage:
    sandbox: Sandbox
    sandbox_url: str
    database_url: str
    logs: Path

    def environment(self, **settings: str) -> dict[str, str]:
        return app_environment(
            sandbox_url=self.sandbox_url, database_url=self.database_url, **settings
        )

    async def keys(self) -> list[str]:
        """The idempotency keys on Cedar Ridge's agreement, read around psasync."""
        site = ConnectWiseSite(site_url=self.sandbox_url, **_site_keys())
        async with httpx.AsyncClient() as http:
            additions = await ConnectWiseClient(http, site).additions(CEDAR_RIDGE)
        return sorted(a.sync_key for a in additions if a.sync_key)

    def posts(self) -> int:
        return self.sandbox.calls.total(method="POST", prefix=ADDITIONS)


def _site_keys() -> dict[str, str]:
    return {
        "company_id": CONNECTWISE["companyId"],
        "public_key": CONNECTWISE["publicKey"],
        "private_key": CONNECTWISE["privateKey"],
        "client_id": CONNECTWISE["clientId"],
    }


@pytest.fixture
def stage(database: Database, tmp_path: Path) -> Iterator[Stage]:
    sandbox = build_sandbox(load_fixture(DEMO_FIXTURE))
    with serve_in_thread(sandbox.app) as url:
        yield Stage(sandbox=sandbox, sandbox_url=url, database_url=database.url, logs=tmp_path)


@pytest.fixture
def sqlite_stage(tmp_path: Path) -> Iterator[Stage]:
    """A stage on an SQLite file only: for the slow case, which the database does not change."""
    sandbox = build_sandbox(load_fixture(DEMO_FIXTURE))
    with serve_in_thread(sandbox.app) as url:
        yield Stage(
            sandbox=sandbox,
            sandbox_url=url,
            database_url=f"sqlite:///{tmp_path / 'psasync.db'}",
            logs=tmp_path,
        )


@pytest.fixture
async def closing() -> AsyncIterator[list[AppProcess]]:
    apps: list[AppProcess] = []
    yield apps
    for app in apps:
        for client in app.clients:
            await client.aclose()


async def ready_task(app: AppProcess, stage: Stage) -> tuple[httpx.AsyncClient, int]:
    """Logged in on ``app``, ConnectWise connected, Check Changes done: the client and task."""
    client = await app.login()
    settings = {"siteUrl": stage.sandbox_url, **CONNECTWISE}
    (await client.put("/api/v1/integrations/connectwise", json=settings)).raise_for_status()
    (await client.post("/api/v1/connectwise/check-changes")).raise_for_status()
    listing = await client.get("/api/v1/connectwise/tasks", params={"q": ORDER})
    (item,) = listing.json()["items"]
    return client, int(item["id"])


async def sync(client: httpx.AsyncClient, task: int) -> httpx.Response:
    return await client.post(
        f"/api/v1/connectwise/tasks/{task}/sync", json={"agreementId": CEDAR_RIDGE}
    )


def code_of(answer: httpx.Response) -> str:
    body: dict[str, Any] = answer.json()
    return str(body["error"]["code"])


async def test_a_run_waiting_longer_than_its_lease_keeps_its_task(
    stage: Stage, closing: list[AppProcess]
) -> None:
    with serving(stage.environment(sync_lease_seconds="3"), stage.logs / "app.log") as app:
        closing.append(app)
        client, task = await ready_task(app, stage)
        before = await stage.keys()
        stage.sandbox.faults.configure(
            FaultSettings(rate_429=1, retry_after_seconds=2, path_prefix=ADDITIONS, methods=POSTS)
        )
        first = asyncio.create_task(sync(client, task))
        await asyncio.sleep(4.5)  # the first run has waited out 429s for longer than its lease
        second = await sync(await app.login(), task)
        assert second.status_code == 409 and code_of(second) == "TaskBusy", second.text
        stage.sandbox.faults.configure(FaultSettings())
        answer = await first
        assert answer.status_code == 200, answer.text
        assert len(await stage.keys()) == len(before) + 3
        assert len(set(await stage.keys())) == len(await stage.keys())


async def test_a_killed_run_is_resumed_by_exactly_one_process_without_a_duplicate(
    stage: Stage, closing: list[AppProcess]
) -> None:
    environment = stage.environment(sync_lease_seconds="3", unknown_outcome_quiet_seconds="12")
    late = 8.0
    with serving(environment, stage.logs / "first.log") as first:
        closing.append(first)
        client, task = await ready_task(first, stage)
        before = await stage.keys()
        # The first create is held by ConnectWise and applied after the process is gone.
        stage.sandbox.faults.configure(
            FaultSettings(
                late_apply_count=1, late_apply_seconds=late, path_prefix=ADDITIONS, methods=POSTS
            )
        )
        doomed = asyncio.create_task(sync(client, task))
        sent = await _wait_for_a_post(stage)
        first.kill()
        doomed.cancel()
    with (
        serving(environment, stage.logs / "second.log") as second,
        serving(environment, stage.logs / "third.log") as third,
    ):
        closing += [second, third]
        answers = await asyncio.gather(
            _sync_once_free(await second.login(), task),
            _sync_once_free(await third.login(), task),
        )
    await asyncio.sleep(max(0.0, sent + late + 1 - time.monotonic()))  # the late write landed
    assert sorted(answer.status_code for answer in answers) == [200, 409], answers
    (won,) = [answer.json() for answer in answers if answer.status_code == 200]
    assert won["run"]["resumed"] is True
    (lost,) = [answer for answer in answers if answer.status_code == 409]
    assert code_of(lost) == "TaskSynced"
    after = await stage.keys()
    assert len(after) == len(before) + 3 and len(set(after)) == len(after), after


async def test_a_write_applied_45_seconds_late_is_found_not_written_again(
    sqlite_stage: Stage, closing: list[AppProcess]
) -> None:
    stage = sqlite_stage
    with serving(stage.environment(), stage.logs / "app.log") as app:
        closing.append(app)
        client, task = await ready_task(app, stage)
        before = await stage.keys()
        # psasync gives up on the answer after 30 s; ConnectWise applies the create at 45 s.
        stage.sandbox.faults.configure(
            FaultSettings(
                late_apply_count=1, late_apply_seconds=45, path_prefix=ADDITIONS, methods=POSTS
            )
        )
        answer = await sync(client, task)
        assert answer.status_code == 200, answer.text
        after = await stage.keys()
        assert len(after) == len(before) + 3 and len(set(after)) == len(after), after
        assert stage.posts() == 3  # the late create was never sent a second time


async def _wait_for_a_post(stage: Stage) -> float:
    deadline = time.monotonic() + 30
    while stage.posts() == 0:
        assert time.monotonic() < deadline, "the sync never reached ConnectWise"
        await asyncio.sleep(0.05)
    return time.monotonic()


async def _sync_once_free(client: httpx.AsyncClient, task: int) -> httpx.Response:
    """Sync as an impatient operator would: again while another run holds the task."""
    deadline = time.monotonic() + 120
    while True:
        answer = await sync(client, task)
        if answer.status_code != 409 or code_of(answer) != "TaskBusy":
            return answer
        assert time.monotonic() < deadline, answer.text
        await asyncio.sleep(0.3)
