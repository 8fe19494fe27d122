"""The dashboard's task list at 100,000 tasks: ``GET /api/v1/connectwise/tasks`` with and
without ``q=``, through the app in-process.

Run: ``.venv/bin/python bench/dashboard.py [--tasks 100000] [--backend sqlite|postgresql]
[--requests 60] [--json]``

1. The app runs on a fresh database (an SQLite file, or a PostgreSQL database dropped at the
   end) with the demo sandbox behind its vendor client; one user logs in (this creates the
   tenant).
2. ``--tasks`` tasks are stored for that tenant through the store's ``add_tasks`` (what Check
   Changes uses), with order snapshots of a realistic size, 5,000 customers whose names mix
   ASCII and accented letters, and order numbers like ``SO000123``.
3. Each search below is asked ``--requests`` times, first page (50), through the app's HTTP
   API on an in-process transport; p50 and p95 of the answer time are printed (``--json``:
   one JSON object). The goal is p95 ≤ 50 ms for every search.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.engine import make_url

from psasync.config import Settings
from psasync.sandbox.fixture import DEMO_FIXTURE, load_fixture
from psasync.sandbox.server import build_sandbox
from psasync.services import Services
from psasync.store import tasks as task_store
from psasync.store.models import SyncTask, TaskStatus, Tenant
from psasync.web.app import create_app

SANDBOX = "http://sandbox.test"
APP = "http://psasync.test"
SECRET = "benchmark-secret-key-0123456789abcdef"  # noqa: S105 (a throwaway key)
LOGIN = {"marketplace": "us", "username": "demo@northwind-it.example", "password": "northwind-demo"}
POSTGRES_URL_VARIABLE = "PSASYNC_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
GOAL_P95_MS = 50.0
CUSTOMERS = 5000
BATCH = 5000

FIRST = ["North", "Blue", "Müller", "Contoso", "Fabrikam", "Østergaard", "Acme", "Żółw", "Zenith"]
SECOND = ["wind", "river", "& Söhne", "Cloud", "Systems", "Data", "Bäckerei", "Labs", "Works"]
KIND = ["LLC", "GmbH", "Ltd", "Inc.", "AG", "S.A."]

# (label, q): a name fragment in another case, an accented name, an order number, a customer id,
# a substring in the middle of a name, one letter (most tasks match), nothing matches.
SEARCHES: list[tuple[str, str | None]] = [
    ("no q", None),
    ("name, other case", "NORTHWIND"),
    ("accented name", "müller"),
    ("order number", "SO004242"),
    ("customer id", "1000004242"),
    ("mid-word", "bäcker"),
    ("one letter", "a"),
    ("no match", "qqqzzz"),
]


def customer_name(number: int) -> str:
    pick = random.Random(number)  # noqa: S311 (names, not secrets)
    return f"{pick.choice(FIRST)}{pick.choice(SECOND)} {number:04d} {pick.choice(KIND)}"


def order_json(number: int, customer: int) -> str:
    """An order snapshot of the size Check Changes stores (about 1.5 kB)."""
    line = {
        "type": "recurring",
        "mpn": f"MPN-{number % 97:05d}",
        "productId": f"P{number % 97}",
        "description": "Microsoft 365 Business Premium (monthly, annual commitment)",
        "quantity": "12",
        "unitPrice": {"currency": "USD", "amount": "22.00"},
        "extendedPrice": {"currency": "USD", "amount": "264.00"},
        "duration": {"type": "month", "duration": 1},
    }
    return json.dumps(
        {
            "id": str(5_000_000 + number),
            "number": f"SO{number:06d}",
            "type": "sales",
            "customerId": str(1_000_000_000 + customer),
            "subscriptionId": str(2_000_000 + number),
            "details": [line, {**line, "type": "setup"}, {**line, "type": "discount"}],
        }
    )


def task_rows(tenant_id: int, count: int) -> Iterator[list[SyncTask]]:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    batch: list[SyncTask] = []
    for number in range(1, count + 1):
        customer = number % CUSTOMERS
        prefix = ("SO", "CH", "RN")[number % 3]
        batch.append(
            SyncTask(
                tenant_id=tenant_id,
                order_id=str(5_000_000 + number),
                order_number=f"{prefix}{number:06d}",
                order_type=("sales", "change", "renewal")[number % 3],
                customer_id=str(1_000_000_000 + customer),
                customer_name=customer_name(customer),
                subscription_id=str(2_000_000 + number),
                status=TaskStatus.NEW.value if number % 4 else TaskStatus.SYNCED.value,
                order_created_at=start + dt.timedelta(minutes=3 * number),
                order_json=order_json(number, customer),
                created_at=now,
                updated_at=now,
            )
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    sandbox = build_sandbox(load_fixture(DEMO_FIXTURE))
    vendor = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url=SANDBOX)
    settings = Settings.model_validate(
        {
            "database_url": database_url,
            "secret_key": SECRET,
            "marketplaces": [
                {
                    "code": "us",
                    "name": "Cloud Marketplace US",
                    "url": f"{SANDBOX}/marketplace/us",
                    "subscriptionKey": "demo-us-gateway-key",
                }
            ],
        }
    )
    services = Services.create(settings, http=vendor)
    app = create_app(settings, services=services)
    results: dict[str, Any] = {}
    try:
        await services.db.upgrade()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=APP
        ) as client:
            answer = await client.post("/api/v1/auth/login", json=LOGIN)
            answer.raise_for_status()
            async with services.db.session() as session:
                tenant_id = (await session.scalars(select(Tenant.id))).one()
            started = time.perf_counter()
            for batch in task_rows(tenant_id, args.tasks):
                async with services.db.session() as session:
                    await task_store.add_tasks(session, batch)
            stored = time.perf_counter() - started
            if not args.json:
                print(f"{args.backend}: {args.tasks} tasks stored in {stored:.1f} s")
            if services.db.is_sqlite is False:
                # VACUUM as autovacuum does after a load this size (its insert threshold): the
                # figures are those of a table in use, whose visibility map lets a search count
                # from the index alone. --no-vacuum measures the table just loaded.
                command = "ANALYZE sync_tasks" if args.no_vacuum else "VACUUM ANALYZE sync_tasks"
                async with services.db.engine.connect() as connection:
                    autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await autocommit.exec_driver_sql(command)
            for label, q in SEARCHES:
                params = {"limit": "50", **({"q": q} if q is not None else {})}
                answer = await client.get("/api/v1/connectwise/tasks", params=params)
                answer.raise_for_status()
                total = answer.json()["total"]
                times: list[float] = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    answer = await client.get("/api/v1/connectwise/tasks", params=params)
                    times.append((time.perf_counter() - started) * 1000)
                    answer.raise_for_status()
                p50, p95 = statistics.median(times), percentile(times, 0.95)
                results[label] = {"q": q, "total": total, "p50Ms": p50, "p95Ms": p95}
                if not args.json:
                    met = "met" if p95 <= GOAL_P95_MS else "MISSED"
                    shown = "—" if q is None else repr(q)
                    print(
                        f"  {label:18s} q={shown:14s} {total:6d} match  p50 {p50:7.1f} ms  "
                        f"p95 {p95:7.1f} ms  (goal p95 ≤ {GOAL_P95_MS:g} ms: {met})"
                    )
    finally:
        await services.aclose()
    return results


@contextlib.contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """An SQLite file in ``folder``, or a PostgreSQL database dropped at the end."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'dashboard.db'}"
        return
    admin = os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)
    ensure_postgres(admin)
    name = f"psasync_dashboard_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            connection.execute(drop.format(sql.Identifier(name)))


def ensure_postgres(admin: str) -> None:
    """Start the local cluster if ``admin`` does not accept connections."""
    try:
        psycopg.connect(admin, connect_timeout=5).close()
        return
    except psycopg.OperationalError:
        subprocess.run(POSTGRES_START, shell=True, check=False, capture_output=True)  # noqa: S602
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(psycopg.OperationalError):
            psycopg.connect(admin, connect_timeout=5).close()
            return
        time.sleep(0.3)
    raise RuntimeError(f"PostgreSQL does not answer (tried: {POSTGRES_START})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=60, help="answers timed per search")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="PostgreSQL: measure the table just loaded, before autovacuum has visited it",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fresh_database(args.backend, Path(folder)) as url:
        results = asyncio.run(run(args, url))
    worst = max(entry["p95Ms"] for entry in results.values())
    if args.json:
        print(
            json.dumps(
                {
                    "backend": args.backend,
                    "tasks": args.tasks,
                    "searches": results,
                    "worstP95Ms": worst,
                    "goalP95Ms": GOAL_P95_MS,
                }
            )
        )
    else:
        print(f"  worst p95 {worst:.1f} ms (goal ≤ {GOAL_P95_MS:g} ms)")
    sys.exit(0)


if __name__ == "__main__":
    main()
