"""The ``psasync`` command."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from psasync import __version__
from psasync.config import Settings, hide_url_password
from psasync.entrypoints import demo
from psasync.entrypoints.cli import output as cli_output
from psasync.entrypoints.cli.common import (
    PASSWORD_ENV,
    USERNAME_ENV,
    Login,
    Result,
    UsageProblem,
    create_services,
    load_settings,
    logged_in,
    marketplace_password,
    migrated_services,
    sync_run,
    upgrade,
)
from psasync.sandbox.faults import FaultSettings, hide_dropped_connection_tracebacks
from psasync.sandbox.fixture import DEMO_FIXTURE, FixtureError, load_fixture
from psasync.sandbox.generate import generate_fixture
from psasync.sandbox.server import build_sandbox
from psasync.services import ServiceError
from psasync.services import check_changes as check_service
from psasync.services import tasks as task_service
from psasync.services.types import OrderType, PriceSource, TaskStatus
from psasync.web.schemas import check_json, task_json

app = typer.Typer(
    help="psasync keeps Cloud Marketplace subscriptions and ConnectWise PSA agreements in step.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(
    help="The database psasync keeps its tasks and journal in.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")
# Bulk syncs of more tasks than this show a progress bar.
PROGRESS_FROM = 5


def _show_version(value: bool) -> None:
    if value:
        console.print(f"psasync {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Log what psasync does (vendor calls, retries) on stderr."
        ),
    ] = False,
) -> None:
    """psasync: Cloud Marketplace ⇄ ConnectWise PSA synchronization."""
    if verbose:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("psasync").setLevel(logging.INFO)


@app.command("config")
def show_config() -> None:
    """Check the PSASYNC_* environment and print the effective settings, secrets hidden."""
    try:
        settings = Settings()
    except ValidationError as error:
        console.print("[red]The configuration is invalid:[/red]")
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "settings"
            message = escape(hide_url_password(problem["msg"]))
            console.print(f"  PSASYNC_{where.upper()}: {message}")
        raise typer.Exit(code=2) from None
    table = Table("setting", "value", title="psasync configuration")
    for name, shown in cli_output.config_rows(settings):
        table.add_row(name, shown)
    console.print(table)


@app.command("sandbox")
def sandbox(
    fixture: Annotated[
        Path, typer.Option(help="Fixture file (YAML or JSON) seeding both emulators.")
    ] = DEMO_FIXTURE,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8100,
    latency_ms: Annotated[int, typer.Option(help="Latency added to every request.")] = 0,
    rate_429: Annotated[float, typer.Option(help="Share of requests refused with 429.")] = 0.0,
    rate_5xx: Annotated[float, typer.Option(help="Share of requests answered 503.")] = 0.0,
    rate_drop: Annotated[
        float, typer.Option(help="Share of requests handled, then cut off mid-answer.")
    ] = 0.0,
    rate_late: Annotated[
        float,
        typer.Option(
            help="Share of requests held before they take effect, whether or not the client "
            "still waits (a late apply)."
        ),
    ] = 0.0,
    late_apply_seconds: Annotated[
        float, typer.Option(help="How long a late apply is held, in seconds (0 to 600).")
    ] = 5.0,
) -> None:
    """Serve the ConnectWise and Cloud Marketplace emulators on one port."""
    try:
        faults = FaultSettings(
            latency_ms=latency_ms,
            rate_429=rate_429,
            rate_5xx=rate_5xx,
            rate_drop=rate_drop,
            rate_late=rate_late,
            late_apply_seconds=late_apply_seconds,
        )
        built = build_sandbox(load_fixture(fixture), faults=faults)
    except (FixtureError, ValidationError) as error:
        console.print(f"[red]Cannot start the sandbox:[/red] {error}")
        raise typer.Exit(code=2) from None
    base = f"http://{host}:{port}"
    console.print(f"ConnectWise sandbox: {base}  (codebase v4_6_release)")
    for code in built.marketplace_codes:
        console.print(f"Cloud Marketplace sandbox '{code}': {base}/marketplace/{code}")
    hide_dropped_connection_tracebacks()
    uvicorn.run(built.app, host=host, port=port, log_level="warning")


@app.command("demo")
def demo_command(
    host: Annotated[
        str, typer.Option(help="Interface the app and sandboxes listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of the app (0: any free one).")
    ] = 8000,
    sandbox_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of the sandboxes (0: any free one).")
    ] = 8001,
    fixture: Annotated[
        Path,
        typer.Option(
            help="Fixture file (YAML or JSON) seeding both sandboxes.",
            show_default="the built-in demo data",
        ),
    ] = DEMO_FIXTURE,
    data_dir: Annotated[
        Path, typer.Option(help="Where the demo database goes; it starts empty on every run.")
    ] = Path("psasync-demo"),
) -> None:
    """Run the whole product on the demo data: both sandboxes and the app, on a fresh SQLite
    database. Prints the URL, the logins and the ConnectWise settings; Ctrl+C stops it."""
    try:
        with demo.start_demo(
            fixture_path=fixture, data_dir=data_dir, host=host, port=port, sandbox_port=sandbox_port
        ) as run:
            demo.show_demo(console, run)
            demo.wait_for_stop()
            console.print("Stopping…")
    except (FixtureError, demo.DataDirError) as error:
        err_console.print(f"[red]Cannot start the demo:[/red] {escape(str(error))}", soft_wrap=True)
        raise typer.Exit(code=2) from None
    except demo.DemoError as error:
        err_console.print(
            f"[red]Cannot start the demo:[/red] {escape(str(error))}\n"
            "  Is another program using the port? Choose others with --port and --sandbox-port.",
            soft_wrap=True,
        )
        raise typer.Exit(code=1) from None
    console.print("The demo has stopped.")


@app.command("generate-fixture")
def generate_fixture_command(
    out: Annotated[Path, typer.Option(help="Where to write the fixture (.json or .yaml).")],
    customers: Annotated[int, typer.Option(min=1, help="Customers (and companies).")] = 2000,
    subscriptions: Annotated[int, typer.Option(min=1, help="Subscriptions.")] = 10000,
    orders: Annotated[int, typer.Option(min=0, help="New orders, one per subscription.")] = 5000,
    month: Annotated[
        str | None, typer.Option(help="Billing month of the orders, YYYY-MM (default: this one).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same fixture.")] = 0,
) -> None:
    """Write a generated sandbox fixture for benchmarks and load tests."""
    try:
        first_day = (
            dt.date.fromisoformat(f"{month}-01") if month else dt.datetime.now(dt.UTC).date()
        ).replace(day=1)
        data = generate_fixture(
            customers=customers,
            subscriptions=subscriptions,
            orders=orders,
            month=first_day,
            seed=seed,
        )
    except ValueError as error:
        console.print(f"[red]Cannot generate the fixture:[/red] {error}")
        raise typer.Exit(code=2) from None
    if out.suffix.lower() == ".json":
        out.write_text(json.dumps(data, indent=1), encoding="utf-8")
    else:
        out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    console.print(
        f"Wrote {out}: {customers} customers, {subscriptions} subscriptions, {orders} orders "
        f"in {first_day:%B %Y}."
    )


# Operator commands ------------------------------------------------------------------------------

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
        return asyncio.run(work)
    except UsageProblem as problem:
        cli_output.show_usage_problem(err_console, problem)
        raise typer.Exit(code=2) from None
    except ServiceError as error:
        if json_output:
            cli_output.print_json(cli_output.error_json(error))
        else:
            cli_output.show_service_error(err_console, error)
        raise typer.Exit(code=1) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate PSASYNC_DATABASE_URL to the newest schema; prints the revision before → after."""
    settings = _settings()

    async def migrate() -> tuple[str | None, str | None]:
        services = create_services(settings)
        try:
            return await upgrade(services)
        finally:
            await services.aclose()

    before, after = _run(migrate())
    if before == after:
        console.print(f"The database is already at the newest revision ({after}).")
    else:
        console.print(f"Migrated the database: {before or 'empty'} → {after}.")


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
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


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
        async with logged_in(settings, login) as (services, user):
            return await check_service.check_changes(services, user.actor)

    result = _run(check(), json_output=json_output)
    if json_output:
        cli_output.print_json(check_json(result))
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
        async with logged_in(settings, login) as (services, user):
            return await task_service.list_tasks(services, user.actor, wanted)

    page = _run(listing(), json_output=json_output)
    if json_output:
        cli_output.print_json(
            {"items": [task_json(task) for task in page.items], "total": page.total}
        )
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
            max=20,
            help="Tasks synced at the same time. Above 1, two first syncs of one customer or "
            "product can collide while storing its mapping (reported as that task's failure).",
        ),
    ] = 1,
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
    login = _login(marketplace, username)

    def bar(total: int) -> cli_output.ProgressBar:
        enabled = not json_output and total >= PROGRESS_FROM
        return cli_output.progress_bar(err_console, total=total, label="Syncing", enabled=enabled)

    runs = _run(
        sync_run(
            settings,
            login,
            task_ids=list(dict.fromkeys(task_ids or [])),
            agreement_id=agreement,
            price_source=price_source,
            concurrency=concurrency,
            progress_bar=bar,
        ),
        json_output=json_output,
    )
    if json_output:
        cli_output.print_json(cli_output.sync_json(runs))
    elif runs:
        cli_output.show_sync(console, runs)
    else:
        console.print("There are no new tasks to sync.")
    if any(run.result is Result.FAILED for run in runs):
        raise typer.Exit(code=1)


def main() -> None:
    # Failures reach the operator as messages; the log lines behind them only with --verbose.
    logging.getLogger("psasync").setLevel(logging.ERROR)
    app()
