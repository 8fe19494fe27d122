"""What an operator runs against the database and the vendors: ``psasync db upgrade``,
``serve``, ``check-changes``, ``tasks`` and ``sync``.

Each command logs in as the web app would (:mod:`.common`), runs one use case and prints its
result as tables (:mod:`.output`) or, with ``--json``, in the REST API's shapes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
import uvicorn

from psasync.bootstrap import job_engine, run, run_worker
from psasync.config import Settings
from psasync.entrypoints.cli import output as cli_output
from psasync.entrypoints.cli.app import app, console, db_app, err_console
from psasync.entrypoints.cli.common import (
    PASSWORD_ENV,
    USERNAME_ENV,
    Login,
    UsageProblem,
    create_services,
    load_settings,
    logged_in,
    marketplace_password,
    migrated_services,
    upgrade,
)
from psasync.jobs.app import create_job_app, ensure_queue_schema, is_postgresql
from psasync.services import ServiceError, bulk_jobs
from psasync.services import bulk_sync as bulk_service
from psasync.services import check_changes as check_service
from psasync.services import jobs as job_service
from psasync.services import tasks as task_service
from psasync.services.bulk_sync import BulkSyncOptions, BulkSyncResult
from psasync.services.jobs import JobView
from psasync.services.types import OrderType, PriceSource, TaskStatus
from psasync.store import JobStatus
from psasync.web.schemas import CheckChangesOut, ErrorOut, TaskPageOut
from psasync.web.schemas_jobs import JobOut

T = TypeVar("T")
# Bulk syncs of more tasks than this show a progress bar.
PROGRESS_FROM = 5
# How often `psasync sync --queue` reads its job's progress, in seconds.
POLL_SECONDS = 0.5

MarketplaceOption = Annotated[
    str | None,
    typer.Option(
        "--marketplace",
        help="Marketplace code from PSASYNC_MARKETPLACES (default: the only one configured).",
    ),
]
UsernameOption = Annotated[
    str,
    typer.Option(
        "--username",
        envvar=USERNAME_ENV,
        help=f"Reseller user to log in as (password: {PASSWORD_ENV}, else a hidden prompt).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _settings() -> Settings:
    try:
        return load_settings()
    except UsageProblem as problem:
        cli_output.show_usage_problem(err_console, problem)
        raise typer.Exit(code=2) from None


def _login(marketplace: str | None, username: str) -> Login:
    try:
        return Login(marketplace=marketplace, username=username, password=marketplace_password())
    except UsageProblem as problem:
        cli_output.show_usage_problem(err_console, problem)
        raise typer.Exit(code=2) from None


def _run(work: Coroutine[Any, Any, T], *, json_output: bool = False) -> T:
    """Run a use case; a refusal is printed (as JSON with ``--json``) and ends the command."""
    try:
        return run(work)
    except UsageProblem as problem:
        cli_output.show_usage_problem(err_console, problem)
        raise typer.Exit(code=2) from None
    except ServiceError as error:
        if json_output:
            cli_output.print_json(ErrorOut.of(error))
        else:
            cli_output.show_service_error(err_console, error)
        raise typer.Exit(code=1) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate PSASYNC_DATABASE_URL to the newest schema; prints the revision before → after."""
    settings = _settings()

    async def migrate() -> tuple[str | None, str | None, bool]:
        services = create_services(settings)
        try:
            revisions = await upgrade(services)
            return (*revisions, await install_queue_schema(settings.database_url))
        finally:
            await services.aclose()

    before, after, queue_installed = _run(migrate())
    if before == after:
        console.print(f"The database is already at the newest revision ({after}).")
    else:
        console.print(f"Migrated the database: {before or 'empty'} → {after}.")
    if queue_installed:
        console.print("Installed the job queue's tables (Procrastinate).")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the psasync web app and REST API (migrates the database first).

    Needs PSASYNC_SECRET_KEY: it signs sessions and encrypts the stored ConnectWise keys.
    """
    settings = _settings()
    if settings.secret_key is None or not settings.secret_key.get_secret_value():
        err_console.print(
            "[red]Error:[/red] PSASYNC_SECRET_KEY is not set; psasync will not serve without it "
            "(it signs sessions and encrypts the stored ConnectWise keys).\n"
            "  Set it to a long random value, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, and keep it: "
            "stored keys cannot be read with another one."
        )
        raise typer.Exit(code=2)

    async def migrate() -> str | None:
        async with migrated_services(settings) as services:
            return await services.db.revision()

    revision = _run(migrate())
    from psasync.web.app import create_app  # the web layer loads only for the command that serves

    console.print(f"Database at revision {revision}. psasync listens on http://{host}:{port}")
    uvicorn.run(create_app(settings, background=job_engine), host=host, port=port, log_level="info")


@app.command("check-changes")
def check_changes_command(
    username: UsernameOption,
    marketplace: MarketplaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Turn the reseller's new completed marketplace orders into sync tasks and list them.

    Running it again creates only tasks for orders that are new since the last run.
    """
    settings = _settings()
    login = _login(marketplace, username)

    async def check() -> check_service.CheckResult:
        async with logged_in(settings, login) as (services, actor):
            return await check_service.check_changes(services, actor)

    result = _run(check(), json_output=json_output)
    if json_output:
        cli_output.print_json(CheckChangesOut.of(result))
    else:
        cli_output.show_check(console, result)


@app.command("tasks")
def tasks_command(
    username: UsernameOption,
    marketplace: MarketplaceOption = None,
    status: Annotated[TaskStatus | None, typer.Option(help="Only tasks in this state.")] = None,
    order_type: Annotated[
        OrderType | None, typer.Option("--type", help="Only tasks of this order type.")
    ] = None,
    search: Annotated[
        str | None, typer.Option(help="Customer name or id, or order number, contains this.")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=task_service.MAX_PAGE, help="Tasks per page.")
    ] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Tasks to skip (for paging).")] = 0,
    json_output: JsonOption = False,
) -> None:
    """List the synchronization tasks, newest order first."""
    settings = _settings()
    wanted = task_service.task_filter(
        status=status.value if status else None,
        order_type=order_type.value if order_type else None,
        query=search,
        limit=limit,
        offset=offset,
    )
    login = _login(marketplace, username)

    async def listing() -> task_service.TaskPage:
        async with logged_in(settings, login) as (services, actor):
            return await task_service.list_tasks(services, actor, wanted)

    page = _run(listing(), json_output=json_output)
    if json_output:
        cli_output.print_json(TaskPageOut.of(page))
    else:
        cli_output.show_tasks(console, page, offset=offset)


@app.command("sync")
def sync_command(
    username: UsernameOption,
    task_ids: Annotated[
        list[int] | None, typer.Argument(help="Tasks to sync (ids from `psasync tasks`).")
    ] = None,
    marketplace: MarketplaceOption = None,
    all_new: Annotated[
        bool, typer.Option("--all-new", help="Sync every new task (instead of TASK_IDS).")
    ] = False,
    agreement: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="ConnectWise agreement to sync the tasks to. Left out: each task goes to its "
            "one eligible agreement; tasks with none or several are skipped.",
        ),
    ] = None,
    price_source: Annotated[
        PriceSource, typer.Option(help="Where unit prices and costs come from.")
    ] = PriceSource.MARKETPLACE,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            max=bulk_service.MAX_CONCURRENCY,
            help="Tasks synced at the same time (a customer's tasks go one after another).",
        ),
    ] = bulk_service.DEFAULT_CONCURRENCY,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue",
            help="Submit the sync as a background job for `psasync worker` (PostgreSQL), print "
            "its id and follow its progress, instead of syncing in this process.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Apply tasks to ConnectWise agreements: the changes Preview shows, journalled, never twice.

    A task that fails is reported and the others go on; the exit code is 1 if any failed.
    """
    if all_new == bool(task_ids):
        err_console.print("[red]Error:[/red] name the tasks to sync, or give --all-new (not both).")
        raise typer.Exit(code=2)
    if all_new and agreement is not None:
        err_console.print(
            "[red]Error:[/red] --all-new syncs each task to its own eligible agreement; "
            "--agreement goes with task ids."
        )
        raise typer.Exit(code=2)
    settings = _settings()
    if queue:
        _check_queue_options(settings, concurrency)
    login = _login(marketplace, username)
    if queue:
        request = bulk_jobs.BulkSyncRequest(
            task_ids=tuple(task_ids) if task_ids else None,
            selection=bulk_jobs.TaskSelection() if all_new else None,
            agreement_id=agreement,
            price_source=price_source,
        )
        _queue_and_follow(settings, login, request, json_output=json_output)
        return
    options = BulkSyncOptions(
        task_ids=tuple(task_ids or ()),
        agreement_id=agreement,
        price_source=price_source,
        concurrency=concurrency,
    )

    async def sync_all() -> BulkSyncResult:
        async with logged_in(settings, login) as (services, actor):
            with cli_output.progress_bar(
                err_console, label="Syncing", enabled=not json_output, show_from=PROGRESS_FROM
            ) as progress:
                return await bulk_service.bulk_sync(services, actor, options, progress=progress)

    result = _run(sync_all(), json_output=json_output)
    if json_output:
        cli_output.print_json(cli_output.BulkSyncOut.of(result))
    elif result.runs:
        cli_output.show_sync(console, result)
    else:
        console.print("There are no new tasks to sync.")
    if result.any_failed:
        raise typer.Exit(code=1)


def _check_queue_options(settings: Settings, concurrency: int) -> None:
    if not is_postgresql(settings.database_url):
        err_console.print(
            "[red]Error:[/red] --queue hands the sync to `psasync worker` processes through the "
            "job queue on PostgreSQL. On the embedded SQLite default the queue lives inside "
            "`psasync serve`, which runs the jobs itself: start the bulk sync there (the "
            "dashboard's Sync buttons, or POST /api/v1/connectwise/tasks/sync-bulk), or leave "
            "out --queue to sync in this process."
        )
        raise typer.Exit(code=2)
    if concurrency != bulk_service.DEFAULT_CONCURRENCY:
        err_console.print(
            "[red]Error:[/red] --concurrency is for a sync in this process; a queued bulk sync "
            "runs its tasks one after the other on a worker."
        )
        raise typer.Exit(code=2)


def _queue_and_follow(
    settings: Settings, login: Login, request: bulk_jobs.BulkSyncRequest, *, json_output: bool
) -> None:
    """Submit the bulk sync job, print its id, then follow it until it ends."""

    async def queue_and_follow() -> JobView:
        async with logged_in(settings, login) as (services, actor):
            async with job_engine(services, worker=False):
                job = await bulk_jobs.submit_bulk_sync(services, actor, request)
            cli_output.show_job_queued(err_console if json_output else console, job)
            with cli_output.job_progress_bar(err_console, enabled=not json_output) as progress:
                while True:
                    job = await job_service.get_job(services, actor, job.id)
                    progress(job)
                    if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
                        return job
                    await asyncio.sleep(POLL_SECONDS)

    job = _run(queue_and_follow(), json_output=json_output)
    if json_output:
        cli_output.print_json(JobOut.of(job))
    else:
        cli_output.show_bulk_job(console, job)
    if cli_output.job_failed(job):
        raise typer.Exit(code=1)


async def install_queue_schema(database_url: str) -> bool:
    """The job queue's tables on PostgreSQL (the SQLite default keeps its queue in memory)."""
    job_app = create_job_app(database_url)
    async with job_app.open_async():
        return await ensure_queue_schema(job_app, database_url)


@app.command("worker")
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Jobs this process runs at the same time.")
    ] = 2,
) -> None:
    """Run background jobs (scheduled checks, auto-sync, bulk sync, reconciliation).

    Needs PostgreSQL: any number of workers on any machines share its queue. On the embedded
    SQLite default there is nothing to start: `psasync serve` runs the jobs itself.
    """
    settings = _settings()
    if not is_postgresql(settings.database_url):
        err_console.print(
            "[red]Error:[/red] psasync worker needs PostgreSQL (PSASYNC_DATABASE_URL). On the "
            "embedded SQLite default `psasync serve` runs the background jobs itself."
        )
        raise typer.Exit(code=2)

    async def work() -> None:
        async with migrated_services(settings) as services:
            async with job_engine(services, worker=False) as engine:
                console.print(f"psasync worker running {concurrency} jobs at a time.")
                await run_worker(
                    engine, services, concurrency=concurrency, install_signal_handlers=True
                )

    _run(work())
