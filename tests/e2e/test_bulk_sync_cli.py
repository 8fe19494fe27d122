"""``psasync sync --queue``: the bulk sync is submitted as a job, a real ``psasync worker``
process runs it on PostgreSQL, and the command follows it to its end; on SQLite it says
where such a job runs instead."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from psasync.config import Settings
from psasync.entrypoints.cli import app
from psasync.jobs.app import create_job_app, ensure_queue_schema
from psasync.sandbox.fixture import DEMO_FIXTURE, load_fixture
from psasync.sandbox.server import build_sandbox, serve_in_thread
from psasync.services import Services, auth, automation, check_changes, integrations
from psasync.services import jobs as job_service
from psasync.services import tasks as task_service
from psasync.services.actor import Actor
from psasync.store import JobStatus
from psasync.store.models import Job
from tests.databases import open_database
from tests.e2e.processes import CONNECTWISE, NORTHWIND, PSASYNC, app_environment

runner = CliRunner()
USERNAME, PASSWORD = NORTHWIND["username"], NORTHWIND["password"]


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    with serve_in_thread(build_sandbox(load_fixture(DEMO_FIXTURE)).app) as url:
        yield url


async def prepared(sandbox_url: str) -> list[int]:
    """ConnectWise connected, the integration user set, Check Changes done (settings from the
    environment); Green Lane's and Bluebird's task ids."""
    settings = Settings()
    services = Services.create(settings)
    try:
        job_app = create_job_app(settings.database_url)
        async with job_app.open_async():
            await ensure_queue_schema(job_app, settings.database_url)
            await job_app.connector.execute_query_async(
                "TRUNCATE procrastinate_jobs RESTART IDENTITY CASCADE"
            )
        user = await auth.login(services, marketplace="us", username=USERNAME, password=PASSWORD)
        form = integrations.ConnectWiseForm(
            site_url=sandbox_url,
            company_id=CONNECTWISE["companyId"],
            public_key=CONNECTWISE["publicKey"],
            private_key=CONNECTWISE["privateKey"],
            client_id=CONNECTWISE["clientId"],
        )
        await integrations.configure_connectwise(services, user.actor, form)
        await automation.set_integration_user(
            services, user.actor, username=USERNAME, password=PASSWORD
        )
        await check_changes.check_changes(services, user.actor)
        found = []
        for order in ("CH0000417", "CH0000418"):
            wanted = task_service.task_filter(query=order)
            (task,) = (await task_service.list_tasks(services, user.actor, wanted)).items
            found.append(task.id)
        return found
    finally:
        await services.aclose()


async def jobs_of() -> list[job_service.JobView]:
    services = Services.create(Settings())
    try:
        async with services.db.session() as session:
            tenant = (await session.scalars(select(Job.tenant_id))).first()
        assert tenant is not None
        page = await job_service.list_jobs(services, Actor(tenant_id=tenant, name="test"))
        return page.items
    finally:
        await services.aclose()


@pytest.mark.anyio
async def test_sync_queue_submits_a_job_a_worker_runs_and_follows_it(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_database("postgresql", tmp_path) as database:
        environment = app_environment(sandbox_url=sandbox_url, database_url=database.url)
    for name, value in environment.items():
        if name.startswith("PSASYNC_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("PSASYNC_MARKETPLACE_PASSWORD", PASSWORD)
    tasks = await prepared(sandbox_url)
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(  # noqa: S603 - our own command
            [PSASYNC, "worker"], env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        arguments = ["sync", *map(str, tasks), "--queue", "--username", USERNAME]
        result = await anyio.to_thread.run_sync(lambda: runner.invoke(app, arguments))
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert result.exit_code == 0, (result.output, log.read_text()[-3000:])
    assert "Queued bulk sync job 1 (2 tasks)" in result.stdout
    assert "2 synced, 0 skipped, 0 failed" in result.stdout
    (job,) = await jobs_of()
    assert (job.status, job.actor) == (JobStatus.SUCCEEDED, USERNAME)
    assert (job.progress_done, job.progress_total) == (2, 2)


def test_sync_queue_on_sqlite_says_where_the_job_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSASYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'psasync.db'}")
    monkeypatch.setenv("PSASYNC_MARKETPLACE_PASSWORD", PASSWORD)
    result = runner.invoke(app, ["sync", "--all-new", "--queue", "--username", USERNAME])
    assert result.exit_code == 2
    assert "psasync serve" in result.output and "--queue" in result.output
