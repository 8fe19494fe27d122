"""``psasync sync --all-new`` at its defaults against a straightforward per-order script, on the
same generated orders, each against a fresh sandbox with the same latency.

Run: ``.venv/bin/python bench/naive_sync.py [--orders 150] [--latency-ms 20] [--runs 3] [--json]``

- The naive script is what a reseller might write with httpx: for each new order, one call at a
  time, find the ConnectWise company by the customer's name, its agreement, the catalog item by
  MPN and the agreement's additions, then create the addition (Sales, Billing) or set the new
  quantity (Change). No journal, no verification, no retries: the floor of doing it by hand.
- psasync: after Check Changes (not timed, as the script's order listing is not timed either),
  the bulk sync with the options ``psasync sync --all-new`` passes by default
  (``DEFAULT_CONCURRENCY`` tasks at a time): each task to its customer's one eligible
  agreement, journalled, fenced and verified (DESIGN.md §6).

Both start from a fresh sandbox process holding the same fixture; the median of ``--runs`` runs
is reported with the ratio psasync / script (below 1: psasync is faster).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).parent))

from check_changes import MARKETPLACE, sandbox_process  # noqa: E402

from psasync.adapters import jsonio  # noqa: E402
from psasync.adapters.connectwise.site import ConnectWiseSite  # noqa: E402
from psasync.adapters.marketplace import MarketplaceClient  # noqa: E402
from psasync.bootstrap import run as run_on_psasync_loop  # noqa: E402
from psasync.config import MarketplaceSettings, Settings  # noqa: E402
from psasync.domain.billing import add_months  # noqa: E402
from psasync.domain.orders import Order, OrderType  # noqa: E402
from psasync.sandbox.generate import CONNECTWISE_CREDENTIALS, LOGIN, generate_fixture  # noqa: E402
from psasync.services import Services, auth, integrations  # noqa: E402
from psasync.services.bulk_sync import (  # noqa: E402
    DEFAULT_CONCURRENCY,
    BulkSyncOptions,
    Result,
    bulk_sync,
)
from psasync.services.check_changes import check_changes  # noqa: E402

API = "/v4_6_release/apis/3.0"


# The straightforward script --------------------------------------------------------------------


async def new_orders(http: httpx.AsyncClient, base: str) -> tuple[list[Order], dict[str, str]]:
    """The reseller's orders and customer names (read before the clock starts)."""
    client = MarketplaceClient(
        http, base_url=f"{base}{MARKETPLACE}", code="us", subscription_key="bench-us-gateway-key"
    )
    session = await client.login(username=LOGIN["username"], password=LOGIN["password"])
    orders = (await session.list_orders()).items
    customers = (await session.list_customers()).items
    return list(orders), {customer.id: customer.name for customer in customers}


async def naive_sync(
    http: httpx.AsyncClient, base: str, orders: list[Order], names: dict[str, str]
) -> int:
    """Apply each order, one call at a time; the number of calls made."""
    site = ConnectWiseSite(
        site_url=base,
        company_id=CONNECTWISE_CREDENTIALS["companyId"],
        public_key=CONNECTWISE_CREDENTIALS["publicKey"],
        private_key=CONNECTWISE_CREDENTIALS["privateKey"],
        client_id=CONNECTWISE_CREDENTIALS["clientId"],
        codebase="v4_6_release",
    )
    headers = site.headers()
    calls = 0

    async def call(method: str, path: str, *, body: Any = None, **options: Any) -> Any:
        nonlocal calls
        calls += 1
        if body is not None:  # exact numbers: psasync's JSON writer, never floats
            options.update(content=jsonio.dumps(body))
            options["headers"] = {**headers, "Content-Type": "application/json"}
        else:
            options["headers"] = headers
        answer = await http.request(method, f"{base}{API}/{path}", **options)
        if answer.is_error:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else None

    for order in orders:
        name = names[order.customer_id].replace('"', '\\"')
        (company,) = await call("GET", "company/companies", params={"conditions": f'name="{name}"'})
        (agreement,) = await call(
            "GET", "finance/agreements", params={"conditions": f"company/id={company['id']}"}
        )
        for line in order.lines:
            mpn = line.mpn
            (item,) = await call(
                "GET",
                "procurement/catalog",
                params={"conditions": f'manufacturerPartNumber="{mpn}"'},
            )
            additions = await call("GET", f"finance/agreements/{agreement['id']}/additions")
            held = [a for a in additions if a["product"]["id"] == item["id"]]
            if order.type is OrderType.CHANGE and held:
                quantity = Decimal(str(held[0]["quantity"])) + line.quantity
                patch = [{"op": "replace", "path": "quantity", "value": quantity}]
                await call(
                    "PATCH",
                    f"finance/agreements/{agreement['id']}/additions/{held[0]['id']}",
                    body=patch,
                )
            else:
                addition = {
                    "product": {"id": item["id"]},
                    "quantity": line.quantity,
                    "unitPrice": line.unit_price.amount,
                    "effectiveDate": f"{order.effective_date:%Y-%m-%d}T00:00:00Z",
                    "billCustomer": "Billable",
                    "description": line.description,
                }
                await call("POST", f"finance/agreements/{agreement['id']}/additions", body=addition)
    return calls


async def time_naive(base: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        orders, names = await new_orders(http, base)
        started = time.perf_counter()
        calls = await naive_sync(http, base, orders, names)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "orders": len(orders), "calls": calls}


# psasync ---------------------------------------------------------------------------------------


async def time_psasync(
    base: str, month: dt.date, database: Path, *, concurrency: int
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
        check_lookback_days=45,
    )
    services = Services.create(settings)
    end = add_months(month, 1)
    services.now = lambda: dt.datetime(end.year, end.month, end.day, 1, tzinfo=dt.UTC)
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
        await check_changes(services, user)
        async with httpx.AsyncClient(base_url=base) as control:
            (await control.delete("/_sandbox/calls")).raise_for_status()
            started = time.perf_counter()
            result = await bulk_sync(services, user, BulkSyncOptions(concurrency=concurrency))
            seconds = time.perf_counter() - started
            calls = sum(entry["count"] for entry in (await control.get("/_sandbox/calls")).json())
    finally:
        await services.aclose()
    return {
        "seconds": seconds,
        "tasks": len(result.runs),
        "synced": result.count(Result.SYNCED),
        "failed": result.count(Result.FAILED),
        "skipped": result.count(Result.SKIPPED),
        "calls": calls,
    }


# Wiring ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=150)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="psasync's tasks at a time (default: sync --all-new's)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    logging.getLogger("psasync").setLevel(logging.ERROR)
    month = dt.date.fromisoformat(f"{args.month}-01")
    data = generate_fixture(
        customers=args.orders, subscriptions=args.orders, orders=args.orders, month=month,
        seed=args.seed,
    )  # fmt: skip
    naive: list[dict[str, Any]] = []
    mine: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        fixture = Path(folder) / "fixture.json"
        fixture.write_text(json.dumps(data), encoding="utf-8")
        for run in range(args.runs):
            with sandbox_process(fixture, latency_ms=args.latency_ms) as base:
                naive.append(asyncio.run(time_naive(base)))
            with sandbox_process(fixture, latency_ms=args.latency_ms) as base:
                database = Path(folder) / f"{run}.db"
                mine.append(
                    run_on_psasync_loop(
                        time_psasync(base, month, database, concurrency=args.concurrency)
                    )
                )
            if not args.json:
                print(
                    f"run {run + 1}: script {naive[-1]['seconds']:.2f} s "
                    f"({naive[-1]['calls']} calls), psasync {mine[-1]['seconds']:.2f} s "
                    f"({mine[-1]['synced']} synced, {mine[-1]['failed']} failed, "
                    f"{mine[-1]['skipped']} skipped; {mine[-1]['calls']} calls)"
                )
    script = statistics.median(run["seconds"] for run in naive)
    psasync = statistics.median(run["seconds"] for run in mine)
    summary = {
        "orders": args.orders,
        "latencyMs": args.latency_ms,
        "concurrency": args.concurrency,
        "scriptSeconds": script,
        "psasyncSeconds": psasync,
        "ratio": psasync / script,
        "runs": {"script": naive, "psasync": mine},
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"median of {args.runs}: script {script:.2f} s, psasync sync --all-new "
            f"({args.concurrency} at a time) {psasync:.2f} s: {psasync / script:.2f}× the "
            "script's time (below 1: faster)"
        )


if __name__ == "__main__":
    main()
