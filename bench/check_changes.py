"""Check Changes and Sync at scale, through the services, against the sandboxes over loopback.

Run: ``.venv/bin/python bench/check_changes.py [--orders 5000] [--tasks 500] [--concurrency 10]
[--runs 3] [--json]``, or ``… --scale [--scale-orders 1000 5000 20000]`` for Check Changes alone
at each size (the curve: wall, bound and ratio per size, and seconds per 1,000 orders).

1. A generated fixture (``--customers`` customers, ``--subscriptions`` subscriptions, ``--orders``
   new orders in one month) is served over loopback with ``--latency-ms`` added to every vendor
   call; psasync runs on a fresh SQLite file, its clock just after that month.
2. Log in, connect ConnectWise, run Check Changes: every order becomes a task.
3. Preview, then Sync, ``--tasks`` tasks of distinct customers, ``--concurrency`` at a time, each
   to its customer's agreement (in generated fixtures the agreement id is the company id).

Vendor calls are counted by the sandbox (``/_sandbox/calls``); the time each answer took is
measured by psasync's HTTP client, and its database work by SQLAlchemy events. Each phase is
judged against its lower bound: the fewest calls the APIs allow × the latency ÷ the calls that
can be in flight at once. Figures are the median of ``--runs`` runs, each on a fresh sandbox
process and database; ``--json`` prints them as one object (``ratios``, ``seconds``,
``boundSeconds``, ``callsPerTask``, ``transactionsPerTask``, ``statementsPerTask``, and each
run's figures). ``transactionsPerTask`` counts every transaction begun (SQLAlchemy's ``begin``
event), read-only ones that roll back included, not only commits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import json
import logging
import math
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import event

from psasync.adapters.marketplace.client import DEFAULT_PAGE_SIZE
from psasync.bootstrap import run as run_on_psasync_loop
from psasync.config import MarketplaceSettings, Settings
from psasync.domain.billing import add_months
from psasync.domain.plan import Plan, PriceSource
from psasync.sandbox.generate import (
    CONNECTWISE_CREDENTIALS,
    FIRST_COMPANY_ID,
    FIRST_CUSTOMER_ID,
    LOGIN,
    generate_fixture,
)
from psasync.services import Actor, Services, auth, integrations, planning
from psasync.services import sync as sync_service
from psasync.services.check_changes import CheckResult, check_changes
from psasync.services.context import vendor_http_client
from psasync.services.tasks import TaskView

MARKETPLACE = "/marketplace/us"
CONNECTWISE = "/v4_6_release"
READS = ("GET",)
WRITES = ("POST", "PATCH", "PUT", "DELETE")
# The targets.
MAX_MARKETPLACE_CALLS_PER_ORDER = 0.05
MAX_READS_PER_ACTION = 2
MAX_WRITES_PER_ACTION = 1
MAX_RATIO = 2
# An endpoint whose answers take this much longer than the injected latency is slow in itself.
SLOW = 1.5


# Measuring a phase ------------------------------------------------------------------------------


def shape(path: str) -> str:
    """A path with its ids replaced by ``{id}``, to group calls by endpoint."""
    return "/".join("{id}" if part.isdigit() else part for part in path.split("/"))


@dataclass
class Probe:
    """Answer times seen by psasync's HTTP client, and the SQL it ran, since the last reset."""

    answer_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    answers: Counter[str] = field(default_factory=Counter)
    statements: int = 0
    sql_seconds: float = 0.0
    transactions: int = 0  # begun: committed, rolled back (read-only sessions) or not ended
    commits: int = 0

    def reset(self) -> None:
        self.answer_seconds.clear()
        self.answers.clear()
        self.statements, self.sql_seconds = 0, 0.0
        self.transactions, self.commits = 0, 0

    def http_client(self) -> httpx.AsyncClient:
        async def started(request: httpx.Request) -> None:
            request.extensions["bench_started"] = time.perf_counter()

        async def answered(response: httpx.Response) -> None:
            await response.aread()  # psasync reads every body; time it with the answer
            request = response.request
            key = f"{request.method} {shape(request.url.path)}"
            self.answer_seconds[key] += time.perf_counter() - request.extensions["bench_started"]
            self.answers[key] += 1

        return vendor_http_client(event_hooks={"request": [started], "response": [answered]})

    def watch(self, services: Services) -> None:
        engine = services.db.engine.sync_engine

        @event.listens_for(engine, "before_cursor_execute")
        def before(conn: Any, *_args: Any) -> None:
            conn.info["bench_started"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def after(conn: Any, *_args: Any) -> None:
            self.statements += 1
            self.sql_seconds += time.perf_counter() - conn.info["bench_started"]

        # Every transaction begins once, whichever way it ends: a read that rolls back costs
        # its BEGIN and ROLLBACK as a write costs its COMMIT.
        @event.listens_for(engine, "begin")
        def begin(_conn: Any) -> None:
            self.transactions += 1

        @event.listens_for(engine, "commit")
        def commit(_conn: Any) -> None:
            self.commits += 1


@dataclass(frozen=True)
class Calls:
    """The sandbox's call counts, as ``GET /_sandbox/calls`` lists them."""

    entries: tuple[tuple[str, str, int], ...]

    def total(self, *, methods: Sequence[str] | None = None, prefix: str = "") -> int:
        """Like ``CallCounter.total``, for several methods at once."""
        return sum(
            count
            for method, path, count in self.entries
            if path.startswith(prefix) and (methods is None or method in methods)
        )


@dataclass(frozen=True)
class Phase:
    result: Any
    seconds: float
    calls: Calls
    answer_seconds: dict[str, float]
    answers: dict[str, int]
    statements: int
    sql_seconds: float
    transactions: int
    commits: int
    cpu_seconds: float  # psasync's process, every thread (the sandboxes run in their own)


@dataclass(frozen=True)
class Bench:
    services: Services
    control: httpx.AsyncClient
    probe: Probe
    latency: float  # seconds added to each vendor call
    concurrency: int
    profile_to: Path | None = None

    async def measure(self, name: str, work: Callable[[], Awaitable[Any]]) -> Phase:
        """Run ``work`` from zeroed counters: its result, wall time, psasync's CPU time, calls
        and database work (and its profile, with ``--profile``, as ``<name>.pstats``)."""
        (await self.control.delete("/_sandbox/calls")).raise_for_status()
        self.probe.reset()
        profiler = cProfile.Profile() if self.profile_to else None
        cpu_started, started = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        result = await work()
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        if profiler is not None and self.profile_to is not None:
            self.profile_to.mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(self.profile_to / f"{name}.pstats")
        answer = (await self.control.get("/_sandbox/calls")).json()
        calls = Calls(tuple((e["method"], e["path"], e["count"]) for e in answer))
        probe = self.probe
        return Phase(
            result,
            seconds,
            calls,
            dict(probe.answer_seconds),
            dict(probe.answers),
            probe.statements,
            probe.sql_seconds,
            probe.transactions,
            probe.commits,
            cpu_seconds,
        )

    async def for_each(
        self, tasks: Sequence[TaskView], work: Callable[[TaskView], Awaitable[Any]]
    ) -> list[Any]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(task: TaskView) -> Any:
            async with gate:
                return await work(task)

        return list(await asyncio.gather(*(one(task) for task in tasks)))


# Output -----------------------------------------------------------------------------------------

VERDICTS: list[str] = []


def judge(name: str, value: float, limit: float) -> str:
    met = value <= limit
    VERDICTS.append(f"{'met   ' if met else 'MISSED'} {name}: {value:.4g} (target ≤ {limit:g})")
    return f"target ≤ {limit:g}: {'met' if met else 'MISSED'}"


def show_ratio(name: str, seconds: float, bound: float) -> dict[str, float]:
    ratio = seconds / bound if bound else math.inf
    verdict = judge(f"{name} wall / lower bound", ratio, MAX_RATIO)
    print(f"  wall / lower bound = {seconds:.2f} / {bound:.2f} s = {ratio:.2f}  ({verdict})")
    return {"seconds": seconds, "boundSeconds": bound, "ratio": ratio}


def show_costs(bench: Bench, phase: Phase, *, per: int, unit: str) -> None:
    """Each endpoint's calls and mean answer time, then the phase's database work."""
    print(f"    calls by endpoint (mean answer time; {bench.latency * 1000:.0f} ms injected):")
    for key, count in sorted(phase.answers.items(), key=lambda item: -item[1]):
        mean = phase.answer_seconds[key] / count
        slow = "  ← slow in the sandbox" if mean > SLOW * bench.latency else ""
        print(f"      {count:6d}  {key:72s} {mean * 1000:6.1f} ms{slow}")
    print(
        f"    database: {phase.statements} SQL statements ({phase.statements / per:.1f} a {unit}), "
        f"{phase.transactions} transactions ({phase.transactions / per:.1f} a {unit}; "
        f"{phase.commits} committed), {phase.sql_seconds:.2f} s executing"
    )
    print(
        f"    psasync's CPU: {phase.cpu_seconds:.2f} s ({phase.cpu_seconds / per * 1000:.1f} ms a "
        f"{unit}; {phase.cpu_seconds / phase.seconds:.0%} of the wall time)"
    )


# The phases -------------------------------------------------------------------------------------


async def log_in(bench: Bench, base: str) -> Actor:
    services = bench.services
    phase = await bench.measure(
        "login",
        lambda: auth.login_actor(
            services, marketplace="us", username=LOGIN["username"], password=LOGIN["password"]
        ),
    )
    print(
        f"login: {phase.seconds:.2f} s, {phase.calls.total(prefix=MARKETPLACE)} marketplace calls"
    )
    form = integrations.ConnectWiseForm(
        site_url=base,
        company_id=CONNECTWISE_CREDENTIALS["companyId"],
        public_key=CONNECTWISE_CREDENTIALS["publicKey"],
        private_key=CONNECTWISE_CREDENTIALS["privateKey"],
        client_id=CONNECTWISE_CREDENTIALS["clientId"],
    )
    user: Actor = phase.result
    connected = await bench.measure(
        "connect", lambda: integrations.configure_connectwise(services, user, form)
    )
    print(f"connect ConnectWise: {connected.seconds:.2f} s, {connected.calls.total()} calls")
    return user


async def check(
    bench: Bench, user: Actor, *, orders: int, customers: int
) -> tuple[list[TaskView], dict[str, float]]:
    phase = await bench.measure("check_changes", lambda: check_changes(bench.services, user))
    result: CheckResult = phase.result
    calls = phase.calls
    made = calls.total(prefix=MARKETPLACE)
    order_calls = calls.total(prefix=f"{MARKETPLACE}/orders")
    customer_calls = calls.total(prefix=f"{MARKETPLACE}/customers")
    created = len(result.created)
    print(f"\nCheck Changes: {created} tasks from {orders} orders in {phase.seconds:.2f} s")
    print(
        f"  marketplace calls: {made} (orders {order_calls}, customers {customer_calls}, other "
        f"{made - order_calls - customer_calls}); reads "
        f"{calls.total(methods=READS, prefix=MARKETPLACE)}, writes "
        f"{calls.total(methods=WRITES, prefix=MARKETPLACE)}; ConnectWise calls "
        f"{calls.total(prefix=CONNECTWISE)}"
    )
    with_login = made + 2
    per_order = with_login / max(orders, 1)
    verdict = judge("Check Changes marketplace calls per order", per_order, 0.05)
    print(
        f"  per order, with the login's token + resellers: {with_login} / {orders} = "
        f"{per_order:.4f}  ({verdict})"
    )
    show_costs(bench, phase, per=max(orders, 1), unit="order")
    order_pages = math.ceil(orders / DEFAULT_PAGE_SIZE)
    customer_pages = math.ceil(customers / DEFAULT_PAGE_SIZE)
    fewest = 2 + order_pages + customer_pages
    print(
        f"  fewest calls: token 1 + resellers 1 + ⌈{orders} orders / {DEFAULT_PAGE_SIZE}⌉ = "
        f"{order_pages} order pages + ⌈{customers} customers / {DEFAULT_PAGE_SIZE}⌉ = "
        f"{customer_pages} customer pages (every order's customer is new) = {fewest}; one call "
        f"in flight (the issue's bound; {DEFAULT_PAGE_SIZE} is psasync's page size, the API "
        "sets no maximum)"
    )
    figures = show_ratio("Check Changes", phase.seconds, fewest * bench.latency)
    return list(result.created), {**figures, "orders": orders, "calls": with_login}


def agreement_of(task: TaskView) -> int:
    """Generated fixtures give customer n the company and agreement FIRST_COMPANY_ID + n."""
    return FIRST_COMPANY_ID + int(task.customer_id) - FIRST_CUSTOMER_ID


def one_per_customer(created: Sequence[TaskView], count: int) -> list[TaskView]:
    """The first ``count`` tasks (by id) of distinct customers: one task per agreement.

    Two syncs to one agreement at once would each plan against the additions the other is
    changing; an operator syncs one task of an agreement at a time.
    """
    chosen: dict[str, TaskView] = {}
    for task in sorted(created, key=lambda task: task.id):
        chosen.setdefault(task.customer_id, task)
        if len(chosen) == count:
            break
    return list(chosen.values())


async def preview_all(bench: Bench, user: Actor, tasks: Sequence[TaskView]) -> Phase:
    async def preview(task: TaskView) -> Plan:
        return await planning.preview(
            bench.services,
            user,
            task.id,
            agreement_id=agreement_of(task),
            price_source=PriceSource.MARKETPLACE,
        )

    async def previews() -> list[Plan]:
        return await bench.for_each(tasks, preview)

    return await bench.measure("preview", previews)


async def sync_all(bench: Bench, user: Actor, tasks: Sequence[TaskView]) -> Phase:
    return await bench.measure(
        "sync",
        lambda: bench.for_each(
            tasks,
            lambda task: sync_service.sync(
                bench.services,
                user,
                task.id,
                agreement_id=agreement_of(task),
                price_source=PriceSource.MARKETPLACE,
            ),
        ),
    )


async def preview_and_sync(bench: Bench, user: Actor, tasks: Sequence[TaskView]) -> dict[str, Any]:
    previewed = await preview_all(bench, user, tasks)
    synced = await sync_all(bench, user, tasks)
    planned = sum(len(plan.actions) for plan in previewed.result)
    actions = sum(len(outcome.actions) for outcome in synced.result)
    kinds = Counter(task.order_type.value for task in tasks)
    mix = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
    print(
        f"\nPreview, then Sync, {len(tasks)} tasks ({mix}), {bench.concurrency} at a time: "
        f"{planned} actions previewed, {actions} applied"
    )
    n = len(tasks)
    preview_fewest = 3 * n
    preview = show_sync_phase(
        bench,
        "preview",
        previewed,
        tasks=n,
        actions=planned,
        fewest=preview_fewest,
        rule="per task 2 ConnectWise reads (the agreement, its additions) + 1 marketplace read "
        "(the subscription: its new quantity)",
    )
    sync_fewest = 2 * n + actions
    sync = show_sync_phase(
        bench,
        "sync",
        synced,
        tasks=n,
        actions=actions,
        fewest=sync_fewest,
        rule="per task 2 ConnectWise reads (the agreement, its additions, read again: they may "
        "have changed since the preview) + 1 write per action",
    )
    both = previewed.seconds + synced.seconds
    print(f"\n  preview + sync: {both:.2f} s for {preview_fewest + sync_fewest} fewest calls")
    show_ratio(
        "preview + sync", both, (preview_fewest + sync_fewest) * bench.latency / bench.concurrency
    )
    calls = previewed.calls.total() + synced.calls.total()
    transactions = previewed.transactions + synced.transactions
    return {
        "preview": preview,
        "sync": sync,
        "tasks": n,
        "callsPerTask": calls / n,
        "transactionsPerTask": transactions / n,
        "statementsPerTask": (previewed.statements + synced.statements) / n,
    }


def show_sync_phase(
    bench: Bench, name: str, phase: Phase, *, tasks: int, actions: int, fewest: int, rule: str
) -> dict[str, float]:
    calls = phase.calls
    reads = calls.total(methods=READS, prefix=CONNECTWISE)
    writes = calls.total(methods=WRITES, prefix=CONNECTWISE)
    market = calls.total(prefix=MARKETPLACE)
    print(
        f"  {name}: {phase.seconds:.2f} s ({phase.seconds / tasks * 1000:.0f} ms a task, "
        f"{bench.concurrency} at a time)"
    )
    print(
        f"    ConnectWise reads {reads} ({reads / tasks:.2f} a task), writes {writes} "
        f"({writes / tasks:.2f} a task); marketplace calls {market} ({market / tasks:.2f} a task)"
    )
    if actions:
        read_verdict = judge(f"{name}: ConnectWise reads per action", reads / actions, 2)
        line = f"    per action: {reads / actions:.2f} reads ({read_verdict})"
        if writes:
            write_verdict = judge(f"{name}: ConnectWise writes per action", writes / actions, 1)
            line += f", {writes / actions:.2f} writes ({write_verdict})"
        print(line)
    show_costs(bench, phase, per=tasks, unit="task")
    print(f"    fewest calls: {rule} = {fewest}, {bench.concurrency} in flight")
    figures = show_ratio(name, phase.seconds, fewest * bench.latency / bench.concurrency)
    return {
        **figures,
        "callsPerTask": calls.total() / tasks,
        "transactionsPerTask": phase.transactions / tasks,
        "statementsPerTask": phase.statements / tasks,
    }


# Wiring -----------------------------------------------------------------------------------------


async def run(
    args: argparse.Namespace,
    base: str,
    month: dt.date,
    database: Path,
    *,
    orders: int,
    check_only: bool = False,
) -> dict[str, Any]:
    """One run on a fresh database against a fresh sandboxes' process: its figures."""
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
    probe = Probe()
    services = Services.create(settings, http=probe.http_client())
    probe.watch(services)
    # The clock stands just after the generated month, whatever day the benchmark runs.
    end = add_months(month, 1)
    services.now = lambda: dt.datetime(end.year, end.month, end.day, 1, tzinfo=dt.UTC)
    async with httpx.AsyncClient(base_url=base) as control:
        bench = Bench(
            services, control, probe, args.latency_ms / 1000, args.concurrency, args.profile
        )
        try:
            await services.db.upgrade()
            user = await log_in(bench, base)
            customers = min(args.customers, orders)
            created, checked = await check(bench, user, orders=orders, customers=customers)
            if check_only:
                return {"checkChanges": checked}
            chosen = one_per_customer(created, args.tasks)
            synced = await preview_and_sync(bench, user, chosen)
        finally:
            await services.aclose()
    return {"checkChanges": checked, **synced}


def fixture_file(
    args: argparse.Namespace, folder: Path, month: dt.date, *, orders: int, customers: int
) -> Path:
    started = time.perf_counter()
    subscriptions = max(args.subscriptions * orders // args.orders, orders)
    data = generate_fixture(
        customers=customers,
        subscriptions=subscriptions,
        orders=orders,
        month=month,
        seed=args.seed,
    )
    print(
        f"fixture: {customers} customers, {subscriptions} subscriptions, {orders} "
        f"orders in {month:%B %Y} (built in {time.perf_counter() - started:.1f} s); "
        f"{args.latency_ms} ms added to each vendor call; the sandbox runs in its own process"
    )
    fixture = folder / f"fixture-{orders}.json"
    fixture.write_text(json.dumps(data), encoding="utf-8")
    return fixture


def runs(args: argparse.Namespace, month: dt.date, folder: Path) -> list[dict[str, Any]]:
    """``--runs`` full runs, each on a fresh sandbox process (a sync changes its agreements)."""
    fixture = fixture_file(args, folder, month, orders=args.orders, customers=args.customers)
    found = []
    for number in range(args.runs):
        print(f"\n=== run {number + 1} of {args.runs} ===")
        with sandbox_process(fixture, latency_ms=args.latency_ms) as base:
            database = folder / f"bench-{number}.db"
            found.append(run_on_psasync_loop(run(args, base, month, database, orders=args.orders)))
    return found


def summary(found: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of the runs, figure by figure (each run's figures are in ``runs``)."""

    def median(*path: str) -> float:
        values = []
        for figures in found:
            value: Any = figures
            for key in path:
                value = value[key]
            values.append(float(value))
        return statistics.median(values)

    phases = ("checkChanges", "preview", "sync")
    return {
        "ratios": {phase: median(phase, "ratio") for phase in phases},
        "seconds": {phase: median(phase, "seconds") for phase in phases},
        "boundSeconds": {phase: median(phase, "boundSeconds") for phase in phases},
        "callsPerTask": median("callsPerTask"),
        "transactionsPerTask": median("transactionsPerTask"),
        "statementsPerTask": median("statementsPerTask"),
        "goals": {"checkChanges": 1.5, "preview": 2.5, "sync": 2.0},
        "runs": found,
    }


def scale(args: argparse.Namespace, month: dt.date, folder: Path) -> dict[str, Any]:
    """Check Changes alone at each size of ``--scale-orders``: the curve (median of ``--runs``).

    The fixture keeps its shape at every size (customers and subscriptions in the proportion
    to orders of ``--customers``, ``--subscriptions`` and ``--orders``), so wall time that grows
    faster than the orders is psasync's (or the sandbox's), not the data's.
    """
    curve = []
    for orders in args.scale_orders:
        customers = max(1, args.customers * orders // args.orders)
        fixture = fixture_file(args, folder, month, orders=orders, customers=customers)
        measured = []
        for number in range(args.runs):
            with sandbox_process(fixture, latency_ms=args.latency_ms) as base:
                database = folder / f"scale-{orders}-{number}.db"
                scaled = argparse.Namespace(**{**vars(args), "customers": customers})
                found = run_on_psasync_loop(
                    run(scaled, base, month, database, orders=orders, check_only=True)
                )
                measured.append(found["checkChanges"])
        seconds = statistics.median(entry["seconds"] for entry in measured)
        bound = measured[0]["boundSeconds"]
        curve.append(
            {
                "orders": orders,
                "seconds": seconds,
                "boundSeconds": bound,
                "ratio": seconds / bound,
                "secondsPer1000Orders": seconds / orders * 1000,
            }
        )
    return {"scale": curve, "goal": {"ratio": MAX_RATIO, "linear": True}}


def show_summary(result: dict[str, Any]) -> None:
    print("\nMedian of the runs:")
    for phase, ratio in result["ratios"].items():
        print(
            f"  {phase:12s} {result['seconds'][phase]:7.2f} s / bound "
            f"{result['boundSeconds'][phase]:6.2f} s = {ratio:5.2f}×"
        )
    print(
        f"  per task (preview + sync): {result['callsPerTask']:.2f} vendor calls, "
        f"{result['transactionsPerTask']:.2f} transactions, "
        f"{result['statementsPerTask']:.2f} SQL statements"
    )


def show_scale(result: dict[str, Any]) -> None:
    print("\nCheck Changes by size (median of the runs):")
    print("   orders     wall    bound   ratio   s per 1,000 orders")
    for point in result["scale"]:
        print(
            f"  {point['orders']:7d} {point['seconds']:7.2f} s {point['boundSeconds']:6.2f} s "
            f"{point['ratio']:6.2f}× {point['secondsPer1000Orders']:8.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=10000)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--tasks", type=int, default=500, help="tasks to preview and sync")
    parser.add_argument("--concurrency", type=int, default=10, help="tasks in flight at once")
    parser.add_argument("--latency-ms", type=int, default=20, help="added to each vendor call")
    parser.add_argument("--month", default="2026-10", help="billing month of the orders, YYYY-MM")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3, help="runs; figures are their median")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="Check Changes only, at each of --scale-orders orders: the curve",
    )
    parser.add_argument(
        "--scale-orders", type=int, nargs="+", default=[1000, 5000, 20000], metavar="ORDERS"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FOLDER",
        help="write each phase's cProfile statistics there (<phase>.pstats; slows every phase)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object on stdout (the report goes to stderr)",
    )
    args = parser.parse_args()
    logging.getLogger("psasync").setLevel(logging.ERROR)
    month = dt.date.fromisoformat(f"{args.month}-01")
    report = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    with tempfile.TemporaryDirectory() as folder, report:
        if args.scale:
            result = scale(args, month, Path(folder))
            show_scale(result)
        else:
            result = summary(runs(args, month, Path(folder)))
            show_summary(result)
            print("\nTargets (every run):")
            for line in VERDICTS:
                print(f"  {line}")
    if args.json:
        print(json.dumps(result))


@contextlib.contextmanager
def sandbox_process(fixture: Path, *, latency_ms: int) -> Iterator[str]:
    """``psasync sandbox`` in a process of its own, so the emulators' CPU time is not psasync's.

    (In one process they would share the interpreter lock and every answer would wait for it.)
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        str(Path(sys.executable).with_name("psasync")),
        "sandbox",
        "--fixture",
        str(fixture),
        "--port",
        str(port),
        "--latency-ms",
        str(latency_ms),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the sandbox exited with {process.returncode}")
            try:
                if httpx.get(f"{base}/_sandbox/calls", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start within 120 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
