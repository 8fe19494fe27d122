"""The ``psasync`` command."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from psasync import __version__
from psasync.config import Settings
from psasync.sandbox.faults import FaultSettings, hide_dropped_connection_tracebacks
from psasync.sandbox.fixture import DEMO_FIXTURE, FixtureError, load_fixture
from psasync.sandbox.generate import generate_fixture
from psasync.sandbox.server import build_sandbox

app = typer.Typer(
    help="psasync keeps Cloud Marketplace subscriptions and ConnectWise PSA agreements in step.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


def _show_version(value: bool) -> None:
    if value:
        console.print(f"psasync {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """psasync: Cloud Marketplace ⇄ ConnectWise PSA synchronization."""


@app.command("config")
def show_config() -> None:
    """Check the PSASYNC_* environment and print the effective settings, secrets hidden."""
    try:
        settings = Settings()
    except ValidationError as error:
        console.print("[red]The configuration is invalid:[/red]")
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "settings"
            console.print(f"  PSASYNC_{where.upper()}: {problem['msg']}")
        raise typer.Exit(code=2) from None
    table = Table("setting", "value", title="psasync configuration")
    table.add_row("database_url", settings.database_url)
    table.add_row("secret_key", "set" if settings.secret_key else "[yellow]not set[/yellow]")
    table.add_row("check_lookback_days", str(settings.check_lookback_days))
    for marketplace in settings.marketplaces or ():
        table.add_row(f"marketplace {marketplace.code}", f"{marketplace.name} — {marketplace.url}")
    if not settings.marketplaces:
        table.add_row("marketplaces", "[yellow]none configured[/yellow]")
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
) -> None:
    """Serve the ConnectWise and Cloud Marketplace emulators on one port."""
    try:
        faults = FaultSettings(
            latency_ms=latency_ms, rate_429=rate_429, rate_5xx=rate_5xx, rate_drop=rate_drop
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


def main() -> None:
    app()
