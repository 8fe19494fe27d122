"""The ``psasync`` Typer app: the root options, ``psasync config`` and :func:`main`.

The other commands register themselves on :data:`app` from :mod:`.sandbox` (the emulators and
the demo) and :mod:`.operations` (what an operator runs against a database and the vendors).
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from psasync import __version__
from psasync.config import Settings, hide_url_password
from psasync.entrypoints.cli import output

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
    for name, shown in output.config_rows(settings):
        table.add_row(name, shown)
    console.print(table)


def main() -> None:
    """The console script ``psasync``."""
    # Failures reach the operator as messages; the log lines behind them only with --verbose.
    logging.getLogger("psasync").setLevel(logging.ERROR)
    app()
