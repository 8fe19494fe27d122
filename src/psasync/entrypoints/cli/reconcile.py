"""``psasync reconcile``: the marketplace against ConnectWise, in-process (DESIGN §4, §9).

Logs in like ``check-changes``, builds and stores a report as the web app's job would, prints
the totals per kind and per customer (or the report as the API's JSON with ``--json``) and
writes the items as CSV with ``--csv FILE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from psasync.entrypoints.cli.app import app, console
from psasync.entrypoints.cli.common import logged_in
from psasync.entrypoints.cli.operations import (
    JsonOption,
    MarketplaceOption,
    UsernameOption,
    _login,
    _run,
    _settings,
)
from psasync.entrypoints.cli.output import print_json
from psasync.services import reconciliation
from psasync.services import reconciliation_fix as _fix_jobs  # registers the fix job's runner
from psasync.services.reconciliation import ReconciliationRequest, ReportView
from psasync.services.types import PriceSource
from psasync.web.schemas_reconciliation import ReportOut

__all__ = ["reconcile_command", "_fix_jobs"]


@app.command("reconcile")
def reconcile_command(
    username: UsernameOption,
    marketplace: MarketplaceOption = None,
    customer: Annotated[
        list[str] | None,
        typer.Option("--customer", help="Only this marketplace customer id (repeatable)."),
    ] = None,
    price_source: Annotated[
        PriceSource, typer.Option("--price-source", help="Where prices come from.")
    ] = PriceSource.MARKETPLACE,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write the report's items to this CSV file.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Compare every customer's marketplace subscriptions with their ConnectWise additions,
    store the report and print its totals (fix items on the reconciliation page or API)."""
    settings = _settings()
    login = _login(marketplace, username)
    request = ReconciliationRequest(
        customer_ids=tuple(customer) if customer else None, price_source=price_source
    )

    async def run() -> ReportView:
        async with logged_in(settings, login) as (services, actor):
            return await reconciliation.build_report(services, actor, request)

    report = _run(run(), json_output=json_output)
    if csv_file is not None:
        csv_file.write_text(reconciliation.report_csv_text(report), encoding="utf-8")
    if json_output:
        print_json(ReportOut.of(report))
        return
    show_report(report)
    if csv_file is not None:
        console.print(f"Wrote {len(report.items)} items to {csv_file}.")


def _impact(impact: dict[str, object]) -> str:
    return ", ".join(f"{amount} {code}" for code, amount in sorted(impact.items())) or "—"


def show_report(report: ReportView) -> None:
    console.print(
        f"Reconciliation report {report.id} as of {report.as_of.isoformat()} "
        f"({report.price_source.value} prices): {len(report.items)} items."
    )
    kinds = Table("kind", "items", "monthly impact", title="By kind")
    for total in report.by_kind:
        kinds.add_row(total.kind, str(total.count), _impact(dict(total.impact)))
    console.print(kinds)
    customers = Table("customer", "id", "items", "monthly impact", title="By customer")
    for each in report.by_customer:
        customers.add_row(
            each.customer_name, each.customer_id, str(each.count), _impact(dict(each.impact))
        )
    console.print(customers)
