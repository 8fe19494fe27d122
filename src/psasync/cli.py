"""The ``psasync`` command."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from psasync import __version__
from psasync.config import Settings

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


def main() -> None:
    app()
