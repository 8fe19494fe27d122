"""The commands around the emulators: ``psasync sandbox``, ``psasync demo`` and
``psasync generate-fixture``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
import yaml
from pydantic import ValidationError
from rich.markup import escape

from psasync.entrypoints import demo
from psasync.entrypoints.cli.app import app, console, err_console
from psasync.sandbox.faults import FaultSettings, hide_dropped_connection_tracebacks
from psasync.sandbox.fixture import DEMO_FIXTURE, FixtureError, load_fixture
from psasync.sandbox.generate import generate_fixture
from psasync.sandbox.server import build_sandbox


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
