"""Reconciliation at scale (issue 16, item 4): ``build_report`` in-process against the sandboxes
over loopback, every vendor call slowed by ``--latency-ms``.

Run: ``.venv/bin/python bench/reconcile.py [--customers 2000] [--subscriptions 10000] [--json]``

1. A generated fixture (``psasync.sandbox.generate``): ``--customers`` customers, each with a
   ConnectWise company of the same name and one monthly agreement, ``--subscriptions``
   subscriptions over them, and ``--orders`` of them changed or new since ConnectWise was last
   written (so there is drift: ``quantity`` and ``missing`` items). The sandbox runs in its own
   process (``psasync sandbox --latency-ms``); psasync on a fresh SQLite file.
2. Log in, connect ConnectWise, then reconcile every customer twice: the first run also maps
   customers (exact company name) and products (catalog by MPN) as a first run does; the second
   is the steady state, every mapping stored. Each run reads both sides and stores its report.

Printed per run: wall time, vendor calls by endpoint (counted by the sandbox), and the ratio to
the lower bound = fewest calls × latency ÷ concurrency. The fewest calls, given what the APIs
offer (see ``fewest``): the marketplace's listings page by page (customers, active
subscriptions, products; 100 a page, psasync's page size), one ``GET /subscriptions/{id}`` per
subscription (the listing carries no products), one ConnectWise agreements query per 100
companies (``company/id in (…)``), one additions read per agreement (ConnectWise has additions
only under their agreement), and the catalog items once; the first run adds the companies'
listing (1,000 a page) for the name matching. Concurrency is psasync's bound on reads in flight
(``DEFAULT_CONCURRENCY`` = 10). A tighter bound is printed too: the two vendors are read side by
side, each with 10 in flight, after the listings (which page one after another).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).parent))

from check_changes import Probe, sandbox_process, shape  # noqa: E402

from psasync.adapters.marketplace.client import DEFAULT_PAGE_SIZE  # noqa: E402
from psasync.bootstrap import run as run_on_psasync_loop  # noqa: E402
from psasync.config import MarketplaceSettings, Settings  # noqa: E402
from psasync.domain.billing import add_months  # noqa: E402
from psasync.sandbox.generate import CONNECTWISE_CREDENTIALS, LOGIN, generate_fixture  # noqa: E402
from psasync.services import Actor, Services, auth, integrations  # noqa: E402
from psasync.services.reconciliation import (  # noqa: E402
    DEFAULT_CONCURRENCY,
    ReconciliationRequest,
    ReportView,
    build_report,
)

MARKETPLACE = "/marketplace/us"
CONNECTWISE = "/v4_6_release"
CONNECTWISE_PAGE = 1000
COMPANIES_PER_QUERY = 100
MAX_RATIO = 2


def fewest(args: argparse.Namespace, *, first: bool) -> dict[str, Any]:
    """The fewest calls a reconciliation of every customer needs (module docstring)."""
    pages = {
        "marketplace customers pages": math.ceil(args.customers / DEFAULT_PAGE_SIZE),
        "marketplace subscriptions pages": math.ceil(args.subscriptions / DEFAULT_PAGE_SIZE),
        "marketplace products pages": 1,
    }
    details = {
        "marketplace GET /subscriptions/{id}": args.subscriptions,
    }
    connectwise_first = {
        "ConnectWise agreements queries": math.ceil(args.customers / COMPANIES_PER_QUERY),
    }
    connectwise = {
        "ConnectWise additions reads (one per agreement)": args.customers,
        "ConnectWise catalog read": 1,
    }
    if first:
        pages["ConnectWise companies pages (name matching)"] = math.ceil(
            args.customers / CONNECTWISE_PAGE
        )
    counted = {**pages, **details, **connectwise_first, **connectwise}
    total = sum(counted.values())
    latency, lanes = args.latency_ms / 1000, DEFAULT_CONCURRENCY
    # The brief's bound: every call, `lanes` in flight.
    bound = total * latency / lanes
    # Tighter: the listings page one after another (the longest listing), then both vendors
    # side by side, each with `lanes` in flight.
    listing = max(pages.values()) * latency
    marketplace_lane = details["marketplace GET /subscriptions/{id}"] * latency / lanes
    connectwise_lane = (
        sum(connectwise_first.values()) * latency
        + connectwise["ConnectWise additions reads (one per agreement)"] * latency / lanes
    )
    tight = listing + max(marketplace_lane, connectwise_lane)
    return {"calls": counted, "total": total, "bound": bound, "tightBound": tight}


async def measure(
    services: Services, control: httpx.AsyncClient, probe: Probe, user: Actor
) -> tuple[ReportView, float, Counter[str]]:
    (await control.delete("/_sandbox/calls")).raise_for_status()
    probe.reset()
    started = time.perf_counter()
    report = await build_report(services, user, ReconciliationRequest())
    seconds = time.perf_counter() - started
    calls: Counter[str] = Counter()
    for entry in (await control.get("/_sandbox/calls")).json():
        calls[f"{entry['method']} {shape(entry['path'])}"] += entry["count"]
    return report, seconds, calls


async def run(
    args: argparse.Namespace, base: str, month: dt.date, database: Path
) -> dict[str, Any]:
    marketplace = MarketplaceSettings.model_validate(
        {
            "code": "us",
            "name": "Cloud Marketplace US (benchmark)",
            "url": f"{base}{MARKETPLACE}",
            "subscriptionKey": "bench-us-gateway-key",
        }
    )
    settings = Settings(
        database_url=f"sqlite:///{database}",
        secret_key=SecretStr("benchmark-secret-key-0123456789abcdef"),
        marketplaces=[marketplace],
    )
    probe = Probe()
    services = Services.create(settings, http=probe.http_client())
    probe.watch(services)
    end = add_months(month, 1)
    services.now = lambda: dt.datetime(end.year, end.month, end.day, 1, tzinfo=dt.UTC)
    runs = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as control:
        try:
            await services.db.upgrade()
            user = await auth.login_actor(
                services, marketplace="us", username=LOGIN["username"], password=LOGIN["password"]
            )
            form = integrations.ConnectWiseForm(
                site_url=base,
                company_id=CONNECTWISE_CREDENTIALS["companyId"],
                public_key=CONNECTWISE_CREDENTIALS["publicKey"],
                private_key=CONNECTWISE_CREDENTIALS["privateKey"],
                client_id=CONNECTWISE_CREDENTIALS["clientId"],
            )
            await integrations.configure_connectwise(services, user, form)
            for name, first in (
                ("first run (maps customers and products)", True),
                ("steady state (mappings stored)", False),
            ):
                report, seconds, calls = await measure(services, control, probe, user)
                bound = fewest(args, first=first)
                kinds = Counter(item.kind for item in report.items)
                runs.append(
                    {
                        "run": name,
                        "seconds": round(seconds, 3),
                        "items": len(report.items),
                        "itemsByKind": dict(kinds),
                        "customers": len(report.by_customer),
                        "calls": dict(sorted(calls.items(), key=lambda kv: -kv[1])),
                        "totalCalls": sum(calls.values()),
                        "fewest": bound,
                        # No latency, no bound: the run is then the CPU and database floor.
                        "ratio": round(seconds / bound["bound"], 3) if bound["bound"] else None,
                        "ratioTight": (
                            round(seconds / bound["tightBound"], 3) if bound["tightBound"] else None
                        ),
                        "sqlStatements": probe.statements,
                        "sqlSeconds": round(probe.sql_seconds, 3),
                    }
                )
        finally:
            await services.aclose()
    return {
        "customers": args.customers,
        "subscriptions": args.subscriptions,
        "orders": args.orders,
        "latencyMs": args.latency_ms,
        "concurrency": DEFAULT_CONCURRENCY,
        "runs": runs,
    }


def show(result: dict[str, Any]) -> None:
    for run in result["runs"]:
        bound = run["fewest"]
        print(
            f"\n{run['run']}: {run['seconds']:.2f} s wall, {run['items']} items "
            f"({', '.join(f'{n} {k}' for k, n in run['itemsByKind'].items())}) over "
            f"{run['customers']} customers with drift"
        )
        print(f"  vendor calls: {run['totalCalls']}")
        for key, count in run["calls"].items():
            print(f"    {count:7d}  {key}")
        print("  fewest calls:")
        for name, count in bound["calls"].items():
            print(f"    {count:7d}  {name}")
        print(f"    {bound['total']:7d}  in all")
        if run["ratio"] is None:
            print(f"  no latency: {run['seconds']:.2f} s is what the calls cost besides waiting")
            print(f"  database: {run['sqlStatements']} SQL statements, {run['sqlSeconds']:.2f} s")
            continue
        print(
            f"  lower bound = {bound['total']} calls × {result['latencyMs']} ms ÷ "
            f"{result['concurrency']} in flight = {bound['bound']:.2f} s; "
            f"wall / bound = {run['ratio']:.2f} (target ≤ {MAX_RATIO}: "
            f"{'met' if run['ratio'] <= MAX_RATIO else 'MISSED'})"
        )
        print(
            f"  tighter bound (listings paged in turn, then both vendors side by side, "
            f"{result['concurrency']} in flight each) = {bound['tightBound']:.2f} s; "
            f"wall / tighter bound = {run['ratioTight']:.2f}"
        )
        print(f"  database: {run['sqlStatements']} SQL statements, {run['sqlSeconds']:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=10000)
    parser.add_argument("--orders", type=int, default=1000, help="subscriptions that drifted")
    parser.add_argument("--latency-ms", type=int, default=20, help="added to each vendor call")
    parser.add_argument("--month", default="2026-10", help="billing month of the orders, YYYY-MM")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    logging.getLogger("psasync").setLevel(logging.ERROR)
    month = dt.date.fromisoformat(f"{args.month}-01")
    data = generate_fixture(
        customers=args.customers,
        subscriptions=args.subscriptions,
        orders=args.orders,
        month=month,
        seed=args.seed,
    )
    if not args.json:
        print(
            f"fixture: {args.customers} customers, {args.subscriptions} subscriptions, "
            f"{args.orders} of them drifted; {args.latency_ms} ms added to each vendor call; "
            "the sandbox runs in its own process"
        )
    with tempfile.TemporaryDirectory() as folder:
        fixture = Path(folder) / "fixture.json"
        fixture.write_text(json.dumps(data), encoding="utf-8")
        with sandbox_process(fixture, latency_ms=args.latency_ms) as base:
            result = run_on_psasync_loop(run(args, base, month, Path(folder) / "bench.db"))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        show(result)


if __name__ == "__main__":
    main()
