"""Never bill twice: a soak of Sync under vendor faults and ``kill -9``, on SQLite and PostgreSQL.

Run: ``.venv/bin/python bench/soak.py [--psa connectwise|autotask] [--syncs 1000] [--kills 20]
[--backend both] [--json]``

For each backend:

1. A generated fixture (one order, so one task, per customer and agreement) is served by
   ``psasync sandbox`` in a process of its own; ``psasync serve`` runs on a fresh database —
   one process on SQLite, two on PostgreSQL, and then every Sync is sent to both at once (one
   answers 409 while the other works).
2. Log in, connect ConnectWise, Check Changes; each task's agreement is the first one
   ``GET …/tasks/{id}/agreements`` calls eligible.
3. Faults are switched on for every call under ConnectWise's ``/finance/agreements`` (the
   agreements and their additions, reads and writes): 429 with a short ``Retry-After``, 503,
   connections dropped after the write was applied, and writes held for a few seconds and
   applied late. ``--concurrency`` tasks are synced at a time; a task answered 409 ``TaskBusy``,
   502, or cut off by a crash is sent again until it is synced (bounded attempts and time).
   Meanwhile the app is killed with ``SIGKILL`` ``--kills`` times, at seeded random points of
   the run, and started again on the same database.
4. Faults off, the late writes landed: every agreement's additions are read straight from the
   sandbox and compared with psasync's journal (``GET /api/v1/connectwise/history``). The goal
   is 0 duplicated keys, 0 lost writes, 0 stuck tasks; the exit status is 1 otherwise.

Short lease and quiet period (``--lease``, ``--quiet``) keep the run short; the late-apply hold
(``--late-hold``) stays below the quiet period, as the real ones do, and below psasync's vendor
timeout (30 s, unchanged), so a held write answers after the hold: its outcome is unknown only
when the app is killed while waiting. Dropped connections are unknown outcomes every time.

``--psa autotask`` runs the same soak on an Autotask tenant (DESIGN §11): the generated fixture's
customers, products and agreements become Autotask companies, Services and Recurring Service
contracts whose contract services hold the agreements' additions as units. Faults hit every
call under ``/atservicesrest/v1.0/Contract`` — the contracts, their services, units and charges,
and the ``/Contracts/{id}/ServiceAdjustments`` POSTs that move units — and the sandbox's thread
limit (``--thread-limit``, Autotask's 3 by default) refuses a request over it with
``Itgenatr005``; the hourly budget is lifted, as a soak is not an hour of one integration's
traffic. Autotask's adjustments cannot be read back, so the audit reads the units instead:
for each task, the contract service's units the day before the change's effective date are the
fixture's, from that date to the contract's end they are those plus the order's Δ (the journal's
``before`` + ``change`` saying the same), the sandbox received exactly one adjustment for it,
and every charge's psasync key appears once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from psasync.adapters.autotask import AutotaskClient, AutotaskCredentials
from psasync.adapters.autotask.keys import read_mark
from psasync.adapters.connectwise import ConnectWiseClient, ConnectWiseSite
from psasync.domain.billing import add_months
from psasync.domain.plan import AdditionKind, PlannedAddition
from psasync.sandbox.faults import FaultSettings
from psasync.sandbox.generate import CONNECTWISE_CREDENTIALS, LOGIN, generate_fixture
from psasync.store import Database, snapshots

PSASYNC = str(Path(sys.executable).with_name("psasync"))
API = "/api/v1"
AGREEMENTS = "/v4_6_release/apis/3.0/finance/agreements"
MARKETPLACE = "/marketplace/"
AUTOTASK = "/atservicesrest"
# Contracts, ContractServices, ContractServiceUnits, ContractCharges and the child writes
# /Contracts/{id}/ServiceAdjustments, …/Services, …/Charges: everything a sync of a contract does.
AUTOTASK_CONTRACTS = f"{AUTOTASK}/v1.0/Contract"
AUTOTASK_CREDENTIALS = {
    "username": "psasync-api@northwind-it.example",
    "secret": "bench-Autotask-Secret-1",
    "integrationCode": "BENCH-PSASYNC-SOAK",
}
# Far above what a soak sends: the hourly budget is a limit of its own, not what this measures.
AUTOTASK_REQUEST_THRESHOLD = 10_000_000
ONE_DAY = dt.timedelta(days=1)
GATEWAY_KEY = "bench-us-gateway-key"  # the generated fixture's marketplace subscription key
POSTGRES_URL_VARIABLE = "PSASYNC_SOAK_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 180.0  # one Sync may wait out retries and quiet periods
# How the fault rate is shared out between the kinds of fault.
FAULT_MIX = {"rate_429": 0.3, "rate_5xx": 0.25, "rate_drop": 0.25, "rate_late": 0.2}
# "200 resumed": synced by finishing an interrupted run (a kill, a vendor failure) of the task.
SYNCED = frozenset({"200 synced", "200 resumed", "409 TaskSynced"})
CREATED = frozenset({"applied", "found_applied"})


@dataclass(frozen=True)
class Config:
    """The command line, checked."""

    psa: str
    syncs: int
    kills: int
    backends: tuple[str, ...]
    concurrency: int
    fault_rate: float
    retry_after: int
    late_hold: float
    quiet: int
    lease: int
    latency_ms: int
    max_attempts: int
    time_limit: float
    seed: int
    as_json: bool
    keep_logs: bool
    thread_limit: int = 3

    @property
    def fault_prefix(self) -> str:
        return AUTOTASK_CONTRACTS if self.psa == "autotask" else AGREEMENTS

    @property
    def psa_name(self) -> str:
        return "Autotask" if self.psa == "autotask" else "ConnectWise"


# The stage: sandbox, database, app processes ------------------------------------------------


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_answering(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Wait until ``url`` answers HTTP, or fail with the end of the process's log."""
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=1) as probe:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url} exited: {log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                await probe.get(url)
                return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {START_TIMEOUT:.0f} s")


@contextlib.asynccontextmanager
async def sandbox(fixture: Path, log: Path, latency_ms: int) -> AsyncIterator[str]:
    """``psasync sandbox`` in a process of its own (the apps' CPU is not its CPU); its URL."""
    port = free_port()
    command = [PSASYNC, "sandbox", "--fixture", str(fixture), "--port", str(port)]
    command += ["--latency-ms", str(latency_ms)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_answering(process, f"{url}/_sandbox/faults", log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh database URL: an SQLite file in ``folder``, or a PostgreSQL database dropped
    at the end (the server started first if it does not answer)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'soak.db'}"
        return
    admin = os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)
    ensure_postgres(admin)
    name = f"psasync_soak_{os.getpid()}"
    with _admin(admin) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin(admin) as connection:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            connection.execute(drop.format(sql.Identifier(name)))


def _admin(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def ensure_postgres(admin: str) -> None:
    """Start the local cluster if ``admin`` does not accept connections."""
    try:
        _admin(admin).close()
        return
    except psycopg.OperationalError:
        subprocess.run(POSTGRES_START, shell=True, check=False, capture_output=True)  # noqa: S602
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(psycopg.OperationalError):
            _admin(admin).close()
            return
        time.sleep(0.3)
    raise RuntimeError(f"PostgreSQL does not answer (tried: {POSTGRES_START})")


def app_environment(config: Config, *, sandbox_url: str, database_url: str) -> dict[str, str]:
    """``psasync serve``'s environment: this run's database, sandbox, lease and quiet period."""
    marketplace = {
        "code": "us",
        "name": "Cloud Marketplace US (soak)",
        "url": f"{sandbox_url}/marketplace/us",
        "subscriptionKey": GATEWAY_KEY,
    }
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PSASYNC_")}
    environment.update(
        PSASYNC_DATABASE_URL=database_url,
        PSASYNC_SECRET_KEY=secrets.token_urlsafe(32),  # one per run, kept across restarts
        PSASYNC_MARKETPLACES=json.dumps([marketplace]),
        PSASYNC_CHECK_LOOKBACK_DAYS="3650",
        PSASYNC_SYNC_LEASE_SECONDS=str(config.lease),
        PSASYNC_UNKNOWN_OUTCOME_QUIET_SECONDS=str(config.quiet),
        # Zone discovery asks the sandbox (plain http is allowed for this machine only).
        PSASYNC_AUTOTASK_DISCOVERY_URL=sandbox_url,
    )
    return environment


@dataclass
class App:
    """One ``psasync serve`` slot: killed with SIGKILL and started again on the same database."""

    name: str
    environment: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    client: httpx.AsyncClient | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    retired: list[httpx.AsyncClient] = field(default_factory=list)

    async def start(self) -> None:
        """Serve on a new port (migrating the database), then log in with the CSRF token."""
        port = free_port()
        command = [PSASYNC, "serve", "--host", "127.0.0.1", "--port", str(port)]
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our own command
                command, env=self.environment, stdout=output, stderr=subprocess.STDOUT
            )
        url = f"http://127.0.0.1:{port}"
        await wait_answering(self.process, f"{url}{API}/auth/session", self.log)
        client = httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT)
        answer = await client.post(f"{API}/auth/login", json={"marketplace": "us", **LOGIN})
        answer.raise_for_status()
        client.headers["X-CSRF-Token"] = answer.json()["csrfToken"]
        self.client = client
        self.ready.set()

    def kill(self) -> None:
        """``kill -9``: no shutdown, no finally blocks."""
        self.ready.clear()
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        if self.client is not None:
            self.retired.append(self.client)
            self.client = None

    async def stop(self) -> None:
        """Terminate the process and close every client it had."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        for client in [*self.retired, *([self.client] if self.client else [])]:
            await client.aclose()


# Setting up: connect, Check Changes, an eligible agreement per task ---------------------------


async def pages(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged ``{items, total}`` listing."""
    items: list[dict[str, Any]] = []
    while True:
        answer = await client.get(path, params={**params, "limit": 500, "offset": len(items)})
        answer.raise_for_status()
        body = answer.json()
        items += body["items"]
        if not body["items"] or len(items) >= body["total"]:
            return items


async def bounded(concurrency: int, jobs: Sequence[Any]) -> list[Any]:
    """Await the coroutines ``jobs``, at most ``concurrency`` at a time, in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def eligible_agreement(client: httpx.AsyncClient, psa: str, task: int) -> int | None:
    """The first agreement the app calls eligible for ``task``."""
    answer = await client.get(f"{API}/{psa}/tasks/{task}/agreements")
    answer.raise_for_status()
    return next((a["id"] for a in answer.json() if a["eligible"]), None)


async def prepare(
    client: httpx.AsyncClient, psa: str, sandbox_url: str, wanted: int
) -> dict[int, int]:
    """Connect the PSA, Check Changes; the first ``wanted`` tasks with their agreement."""
    if psa == "autotask":  # the zone found by discovery, at the sandbox
        answer = await client.put(f"{API}/integrations/autotask", json=AUTOTASK_CREDENTIALS)
    else:
        settings = {"siteUrl": sandbox_url, **CONNECTWISE_CREDENTIALS}
        answer = await client.put(f"{API}/integrations/connectwise", json=settings)
    answer.raise_for_status()
    checked = await client.post(f"{API}/{psa}/check-changes")
    checked.raise_for_status()
    ids = sorted(task["id"] for task in await pages(client, f"{API}/{psa}/tasks"))
    agreements = await bounded(16, [eligible_agreement(client, psa, task) for task in ids])
    chosen = {task: a for task, a in zip(ids, agreements, strict=True) if a is not None}
    if len(chosen) < wanted:
        raise RuntimeError(f"only {len(chosen)} of {len(ids)} tasks have an eligible agreement")
    return dict(sorted(chosen.items())[:wanted])


# The soak: syncs under faults, with kills ------------------------------------------------------


@dataclass
class Tally:
    """What the drivers saw: answers by kind, kills, tasks finished and given up."""

    answers: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    finished: int = 0
    done: bool = False
    gave_up: dict[int, str] = field(default_factory=dict)


def fault_settings(config: Config) -> FaultSettings:
    """``--fault-rate`` of the calls under the PSA's agreements (ConnectWise's
    /finance/agreements, Autotask's /Contract…), shared out by FAULT_MIX."""
    shares = {name: config.fault_rate * share for name, share in FAULT_MIX.items()}
    return FaultSettings.model_validate(
        {
            **shares,
            "retry_after_seconds": config.retry_after,
            "late_apply_seconds": config.late_hold,
            "path_prefix": config.fault_prefix,
            "seed": config.seed,
        }
    )


async def sync_once(app: App, psa: str, task: int, agreement: int) -> str:
    """One Sync request on ``app``, as a kind of answer ("200 synced", "409 TaskBusy", …)."""
    try:
        await asyncio.wait_for(app.ready.wait(), START_TIMEOUT)
    except TimeoutError:
        return "app down"
    client = app.client
    if client is None:
        return "app down"
    path = f"{API}/{psa}/tasks/{task}/sync"
    try:
        answer = await client.post(path, json={"agreementId": agreement})
    except httpx.TimeoutException:
        return "request timed out"
    except httpx.TransportError:
        return "cut off by a kill"
    if answer.status_code == 200:
        return "200 resumed" if answer.json()["run"]["resumed"] else "200 synced"
    try:
        code = answer.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "?"
    return f"{answer.status_code} {code}"


async def sync_task(
    apps: Sequence[App], task: int, agreement: int, tally: Tally, config: Config, deadline: float
) -> None:
    """Sync ``task`` on every app at once, again and again until one says it is synced."""
    answers: list[str] = []
    for _ in range(config.max_attempts):
        if time.monotonic() > deadline:
            break
        syncs = (sync_once(app, config.psa, task, agreement) for app in apps)
        answers = list(await asyncio.gather(*syncs))
        tally.answers.update(answers)
        if SYNCED.intersection(answers):
            tally.finished += 1
            return
        await asyncio.sleep(0.3 if "409 TaskBusy" in answers else 0.1)
    tally.gave_up[task] = ", ".join(answers) or "time limit"
    tally.finished += 1


async def kill_at_random(
    apps: Sequence[App], tally: Tally, total: int, config: Config, rng: random.Random
) -> None:
    """SIGKILL a random app ``config.kills`` times, at random shares of the tasks finished
    (plus up to 0.7 s), starting it again on the same database after each kill."""
    marks = sorted(rng.uniform(0.03, 0.9) * total for _ in range(config.kills))
    for mark in marks:
        while tally.finished < mark and not tally.done:
            await asyncio.sleep(0.05)
        if tally.done:
            return
        await asyncio.sleep(rng.uniform(0, 0.7))
        app = rng.choice(apps)
        app.kill()
        tally.kills += 1
        await app.start()


async def soak(apps: Sequence[App], tasks: dict[int, int], config: Config) -> Tally:
    """Every task synced (or given up), ``config.concurrency`` at a time, kills meanwhile."""
    tally = Tally()
    deadline = time.monotonic() + config.time_limit
    killer = asyncio.create_task(
        kill_at_random(apps, tally, len(tasks), config, random.Random(config.seed))  # noqa: S311
    )
    jobs = [sync_task(apps, t, a, tally, config, deadline) for t, a in tasks.items()]
    try:
        await bounded(config.concurrency, jobs)
    finally:
        tally.done = True
        await killer
    return tally


# The audit: ConnectWise against the journal ----------------------------------------------------


async def keys_on(site: ConnectWiseSite, http: httpx.AsyncClient, agreement: int) -> list[str]:
    """The idempotency keys of the agreement's additions, read from the sandbox directly."""
    additions = await ConnectWiseClient(http, site).additions(agreement)
    return [addition.sync_key for addition in additions if addition.sync_key]


async def read_keys(sandbox_url: str, agreements: Sequence[int]) -> dict[int, list[str]]:
    """Every agreement's keys, around psasync (its faults switched off)."""
    site = ConnectWiseSite(
        site_url=sandbox_url,
        company_id=CONNECTWISE_CREDENTIALS["companyId"],
        public_key=CONNECTWISE_CREDENTIALS["publicKey"],
        private_key=CONNECTWISE_CREDENTIALS["privateKey"],
        client_id=CONNECTWISE_CREDENTIALS["clientId"],
    )
    unique = sorted(set(agreements))
    async with httpx.AsyncClient(timeout=60) as http:
        found = await bounded(16, [keys_on(site, http, a) for a in unique])
    return dict(zip(unique, found, strict=True))


async def history_of(client: httpx.AsyncClient, psa: str, task: int) -> list[dict[str, Any]]:
    """The task's runs, newest first, as the history API lists them."""
    return await pages(client, f"{API}/{psa}/history", taskId=task)


def created_keys(runs: Sequence[dict[str, Any]]) -> list[str]:
    """The keys the journal says were created by the task's succeeded run."""
    return [
        action["key"]
        for run in runs
        if run["outcome"] == "succeeded"
        for action in run["run"]["actions"]
        if action["action"] == "create" and action["outcome"] in CREATED
    ]


def losses_of(task: int, runs: Sequence[dict[str, Any]], keys: Sequence[str]) -> str | None:
    """Why a synced task lost a write (a journalled create missing from ConnectWise), if so."""
    expected = created_keys(runs)
    missing = sorted(set(expected) - set(keys))
    mine = [key for key in keys if key.startswith(f"task:{task}:")]
    if missing:
        return f"task {task}: journalled as created but missing from ConnectWise: {missing}"
    if len(set(mine)) < len(expected):
        return f"task {task}: {len(set(mine))} keyed additions for {len(expected)} creates"
    return None


async def surplus_events(database_url: str) -> dict[str, int]:
    """``sync_events`` rows by kind (``surplus_deleted``: copies verification deleted)."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                text("SELECT kind, count(*) FROM sync_events GROUP BY kind ORDER BY kind")
            )
            return {str(kind): int(count) for kind, count in rows}
    finally:
        await db.dispose()


async def vendor_calls(control: httpx.AsyncClient, psa: str) -> int:
    """The PSA's calls the sandbox counted since the last reset: Autotask's under
    /atservicesrest, ConnectWise's everything else but the marketplace's."""
    answer = await control.get("/_sandbox/calls")
    answer.raise_for_status()
    counted = answer.json()
    if psa == "autotask":
        return sum(e["count"] for e in counted if e["path"].startswith(AUTOTASK))
    return sum(
        e["count"]
        for e in counted
        if not e["path"].startswith((MARKETPLACE, AUTOTASK, "/_sandbox"))
    )


async def task_statuses(client: httpx.AsyncClient, psa: str) -> dict[int, tuple[str, Any]]:
    listed = await pages(client, f"{API}/{psa}/tasks")
    return {t["id"]: (t["status"], t["error"]) for t in listed}


async def histories(
    client: httpx.AsyncClient, psa: str, ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    found = await bounded(16, [history_of(client, psa, task) for task in ids])
    return dict(zip(ids, found, strict=True))


def stuck_figures(ids: Sequence[int], status: dict[int, tuple[str, Any]]) -> dict[str, Any]:
    return {
        "stuck": sum(status[t][0] != "synced" for t in ids),
        "stuckTasks": [
            {"task": t, "status": status[t][0], "error": status[t][1]}
            for t in ids
            if status[t][0] != "synced"
        ][:50],
    }


async def audit(
    client: httpx.AsyncClient, sandbox_url: str, tasks: dict[int, int]
) -> dict[str, Any]:
    """Duplicates, losses and stuck tasks, from ConnectWise and the journal."""
    status = await task_statuses(client, "connectwise")
    keys = await read_keys(sandbox_url, list(tasks.values()))
    every_key = Counter(key for found in keys.values() for key in found)
    duplicates = sorted(key for key, count in every_key.items() if count > 1)
    ids = list(tasks)
    runs = await histories(client, "connectwise", ids)
    synced = [task for task in ids if status[task][0] == "synced"]
    losses = [
        loss
        for task in synced
        if (loss := losses_of(task, runs[task], keys[tasks[task]])) is not None
    ]
    twice = [t for t in ids if sum(r["outcome"] == "succeeded" for r in runs[t]) > 1]
    return {
        "synced": len(synced),
        "duplicates": len(duplicates),
        "duplicateKeys": duplicates[:50],
        "losses": len(losses),
        "lostWrites": losses[:50],
        **stuck_figures(ids, status),
        "tasksSucceededTwice": twice,
        **journal_figures(list(runs.values())),
    }


def journal_figures(histories: Sequence[Sequence[dict[str, Any]]]) -> dict[str, Any]:
    """Runs, failed runs, creates and action outcomes, over every task's history."""
    runs = [run for history in histories for run in history]
    outcomes = Counter(action["outcome"] for run in runs for action in run["run"]["actions"])
    return {
        "runs": len(runs),
        "failedRuns": sum(run["outcome"] == "failed" for run in runs),
        "creates": sum(len(created_keys(history)) for history in histories),
        "actionOutcomes": dict(outcomes.most_common()),
    }


# The audit on Autotask: units at each effective date, adjustments and charge keys -----------


@dataclass(frozen=True)
class Ordered:
    """What a contract's one order asks of Autotask, from the fixture: a recurring change of
    Service ``service_id`` (units ``before`` → ``after``), or a usage charge of ``usage``."""

    contract_id: int
    kind: str
    service_id: int
    before: Decimal = Decimal(0)
    after: Decimal = Decimal(0)
    usage: Decimal = Decimal(0)


@dataclass(frozen=True)
class Journalled:
    """A task's succeeded run as the journal holds it: the plan and each step's expectation."""

    plan: tuple[PlannedAddition, ...]
    expectations: dict[str, dict[str, str]]


def ordered_by_contract(data: dict[str, Any]) -> dict[int, Ordered]:
    """Each contract's order (the generated fixture gives every customer one), read from the
    fixture: the units its contract service starts with and what the order changes."""
    section, market = data["autotask"], data["marketplace"]
    company_of = {c["companyName"]: c["id"] for c in section["companies"]}
    contract_of = {c["companyID"]: c["id"] for c in section["contracts"]}
    customer_contract = {c["id"]: contract_of[company_of[c["name"]]] for c in market["customers"]}
    service_of = {s["sku"]: s["id"] for s in section["services"]}
    units = {
        (s["contractID"], s["serviceID"]): Decimal(s["units"]) for s in section["contractServices"]
    }
    found: dict[int, Ordered] = {}
    for order in market["orders"]:
        contract = customer_contract[order["customerId"]]
        (line,) = order["details"]
        service = service_of[line["mpn"]]
        quantity = Decimal(str(line["quantity"]))
        before = units.get((contract, service), Decimal(0))
        if order["type"] == "billing":
            found[contract] = Ordered(contract, "billing", service, usage=quantity)
        else:  # a Change Order's quantity is the change, a Sales Order's the new units
            found[contract] = Ordered(contract, order["type"], service, before, before + quantity)
    return found


async def journal_of(database_url: str) -> dict[int, Journalled]:
    """Each task's succeeded run: its plan and every step's journalled expectation."""
    db = Database(database_url)
    query = text(
        "SELECT r.task_id, r.plan_json, a.key, a.expectation_json FROM sync_runs r "
        "JOIN sync_actions a ON a.run_id = r.id WHERE r.outcome = 'succeeded'"
    )
    found: dict[int, Journalled] = {}
    try:
        async with db.session() as session:
            for task, plan_json, key, expectation in await session.execute(query):
                if task not in found:
                    found[task] = Journalled(snapshots.actions_from_json(plan_json), {})
                if expectation:
                    found[task].expectations[key] = json.loads(expectation)
    finally:
        await db.dispose()
    return found


async def autotask_reads(
    sandbox_url: str, contracts: Sequence[int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The contracts' units rows and charges (through the vendor API, around psasync) and
    every adjustment the sandbox received (the vendor never serves them back)."""
    credentials = AutotaskCredentials(
        username=AUTOTASK_CREDENTIALS["username"],
        secret=AUTOTASK_CREDENTIALS["secret"],
        integration_code=AUTOTASK_CREDENTIALS["integrationCode"],
    )
    async with httpx.AsyncClient(timeout=60) as http:
        client = AutotaskClient(http, credentials, zone_url=f"{sandbox_url}{AUTOTASK}/")
        rows = await client.unit_rows(contracts)
        charges = await client.charges(contracts)
        answer = await http.get(f"{sandbox_url}/_sandbox/autotask/adjustments")
        answer.raise_for_status()
    return rows, charges, answer.json()


def _day(value: Any) -> dt.date:
    return dt.date.fromisoformat(str(value)[:10])


def units_on(rows: Sequence[dict[str, Any]], service_id: int, day: dt.date) -> Decimal:
    """The service's units on ``day``, over every contract service billing it (a second
    contract service of one Service would be a duplicate too)."""
    return sum(
        (
            Decimal(str(row["units"]))
            for row in rows
            if row["serviceID"] == service_id
            and _day(row["startDate"]) <= day <= _day(row["endDate"])
        ),
        Decimal(0),
    )


@dataclass
class AutotaskFindings:
    """What the Autotask audit found, problem by problem."""

    duplicates: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    adjustments: int = 0
    charges: int = 0


def audit_recurring(
    task: int,
    ordered: Ordered,
    action: PlannedAddition,
    journalled: Journalled,
    rows: Sequence[dict[str, Any]],
    adjusted: Sequence[dict[str, Any]],
    contract_end: dt.date,
    found: AutotaskFindings,
) -> None:
    """Units before + Δ from the effective date, exactly once, as the journal says."""
    where = f"task {task}, contract {ordered.contract_id}, service {ordered.service_id}"
    day = action.effective_date
    change = ordered.after - ordered.before
    mine = [a for a in adjusted if a["serviceID"] == ordered.service_id]
    found.adjustments += len(mine)
    if len(mine) > 1:
        found.duplicates.append(f"{where}: {len(mine)} adjustments for one change: {mine}")
    elif not mine:
        found.losses.append(f"{where}: journalled as applied, but Autotask received no adjustment")
    elif (mine[0]["unitChange"], mine[0]["effectiveDate"][:10]) != (change, day.isoformat()):
        found.mismatches.append(
            f"{where}: adjusted {mine[0]}, the order asks {change:+} from {day}"
        )
    seen = {
        "the day before": (day - ONE_DAY, ordered.before),
        "the effective date": (day, ordered.after),
        "the contract's last day": (contract_end, ordered.after),
    }
    for label, (when, wanted) in seen.items():
        units = units_on(rows, ordered.service_id, when)
        if units != wanted:
            found.mismatches.append(f"{where}: {units} units on {label} ({when}), not {wanted}")
    expected = journalled.expectations.get(action.key)
    if expected is not None:
        said = (
            Decimal(expected["before"]),
            Decimal(expected["before"]) + Decimal(expected["change"]),
        )
        if said != (ordered.before, ordered.after) or expected["effectiveDate"] != day.isoformat():
            found.mismatches.append(
                f"{where}: the journal expects {said[0]} → {said[1]} on "
                f"{expected['effectiveDate']}, the order {ordered.before} → {ordered.after} "
                f"on {day}"
            )


def audit_charges(
    task: int,
    ordered: Ordered,
    actions: Sequence[PlannedAddition],
    charges: Sequence[dict[str, Any]],
    found: AutotaskFindings,
) -> None:
    """Each one-time line's psasync key on exactly one charge, with the usage as its quantity."""
    marked: dict[str, list[dict[str, Any]]] = {}
    for charge in charges:
        mark = read_mark(charge.get("description"))
        if mark is not None:
            marked.setdefault(mark.key, []).append(charge)
    found.charges += sum(len(c) for c in marked.values())
    planned = {action.key for action in actions}
    for key in sorted(planned | set(marked)):
        copies = marked.get(key, [])
        if len(copies) > 1 or key not in planned:
            found.duplicates.append(f"task {task}: {len(copies)} charges carry {key}")
        elif not copies:
            found.losses.append(f"task {task}: journalled charge {key} is not on Autotask")
        elif Decimal(str(copies[0]["unitQuantity"])) != ordered.usage:
            found.mismatches.append(
                f"task {task}: charge {key} bills {copies[0]['unitQuantity']}, not {ordered.usage}"
            )


async def audit_autotask(
    client: httpx.AsyncClient,
    sandbox_url: str,
    database_url: str,
    tasks: dict[int, int],
    fixture: dict[str, Any],
) -> dict[str, Any]:
    """Duplicates, unit mismatches, losses and stuck tasks, from Autotask, the journal and
    the fixture (see the module docstring)."""
    status = await task_statuses(client, "autotask")
    ids = list(tasks)
    runs = await histories(client, "autotask", ids)
    journal = await journal_of(database_url)
    ordered = ordered_by_contract(fixture)
    ends = {c["id"]: _day(c["endDate"]) for c in fixture["autotask"]["contracts"]}
    rows, charges, adjusted = await autotask_reads(sandbox_url, sorted(set(tasks.values())))
    found = AutotaskFindings()
    synced = [task for task in ids if status[task][0] == "synced"]
    for task in synced:
        contract = tasks[task]
        order, journalled = ordered[contract], journal[task]
        writes = [action for action in journalled.plan if not action.skip]
        recurring = [a for a in writes if a.kind is AdditionKind.RECURRING]
        for action in recurring:
            audit_recurring(
                task,
                order,
                action,
                journalled,
                [r for r in rows if r["contractID"] == contract],
                [a for a in adjusted if a["contractID"] == contract],
                ends[contract],
                found,
            )
        one_time = [a for a in writes if a.kind is not AdditionKind.RECURRING]
        on_contract = [c for c in charges if c["contractID"] == contract]
        if one_time or on_contract:
            audit_charges(task, order, one_time, on_contract, found)
    twice = [t for t in ids if sum(r["outcome"] == "succeeded" for r in runs[t]) > 1]
    return {
        "synced": len(synced),
        "duplicates": len(found.duplicates),
        "duplicateWrites": found.duplicates[:50],
        "unitMismatches": len(found.mismatches),
        "mismatches": found.mismatches[:50],
        "losses": len(found.losses),
        "lostWrites": found.losses[:50],
        "adjustmentsReceived": found.adjustments,
        "chargesMarked": found.charges,
        **stuck_figures(ids, status),
        "tasksSucceededTwice": twice,
        **journal_figures(list(runs.values())),
    }


# One backend, start to end ---------------------------------------------------------------------


async def run_backend(config: Config, backend: str, fixture: Path, folder: Path) -> dict[str, Any]:
    """The whole soak on one backend: its figures."""
    started = time.monotonic()
    async with sandbox(fixture, folder / f"{backend}-sandbox.log", config.latency_ms) as url:
        with database(backend, folder) as database_url:
            environment = app_environment(config, sandbox_url=url, database_url=database_url)
            names = ["app"] if backend == "sqlite" else ["app-a", "app-b"]
            apps = [App(n, environment, folder / f"{backend}-{n}.log") for n in names]
            try:
                for app in apps:  # one after another: the first start migrates the database
                    await app.start()
                figures = await drive(config, apps, url, database_url, fixture)
            finally:
                for app in apps:
                    await app.stop()
    figures["setupAndAuditSeconds"] = round(time.monotonic() - started - figures["wallSeconds"], 1)
    figures["processes"] = len(names)
    return figures


async def autotask_limits(control: httpx.AsyncClient, **wanted: int) -> dict[str, Any]:
    """The Autotask sandbox's request limits, switched to ``wanted`` first if given."""
    if wanted:
        answer = await control.put("/_sandbox/autotask/limits", json=wanted)
    else:
        answer = await control.get("/_sandbox/autotask/limits")
    answer.raise_for_status()
    limits: dict[str, Any] = answer.json()
    return limits


async def drive(
    config: Config, apps: list[App], url: str, database_url: str, fixture: Path
) -> dict[str, Any]:
    """Prepare, soak under faults and kills, then audit: the backend's figures."""
    first = apps[0].client
    assert first is not None
    autotask = config.psa == "autotask"
    async with httpx.AsyncClient(base_url=url, timeout=30) as control:
        if autotask:
            await autotask_limits(
                control,
                threadLimit=config.thread_limit,
                requestThreshold=AUTOTASK_REQUEST_THRESHOLD,
            )
        tasks = await prepare(first, config.psa, url, config.syncs)
        refused_before = (await autotask_limits(control))["threadLimitRefusals"] if autotask else 0
        faults = fault_settings(config).model_dump(mode="json")
        (await control.put("/_sandbox/faults", json=faults)).raise_for_status()
        (await control.delete("/_sandbox/calls")).raise_for_status()
        began = time.monotonic()
        tally = await soak(apps, tasks, config)
        wall = time.monotonic() - began
        injected = (await control.get("/_sandbox/faults/injected")).json()
        (await control.put("/_sandbox/faults", json={})).raise_for_status()
        calls = await vendor_calls(control, config.psa)
        refused = (await autotask_limits(control))["threadLimitRefusals"] if autotask else 0
    await asyncio.sleep(config.late_hold + 1)  # every held write has landed
    client = apps[0].client
    assert client is not None
    if autotask:
        data = json.loads(fixture.read_text(encoding="utf-8"))
        found = await audit_autotask(client, url, database_url, tasks, data)
    else:
        found = await audit(client, url, tasks)
    events = await surplus_events(database_url)
    return {
        "psa": config.psa,
        "tasks": len(tasks),
        **found,
        "vendorCalls": calls,
        "vendorCallsPerTask": round(calls / max(found["synced"], 1), 2),
        "faultsInjected": sum(injected.values()),
        "faultsByKind": injected,
        "threadLimitRefusals": refused - refused_before,
        "wallSeconds": round(wall, 1),
        "kills": tally.kills,
        "resumedSyncs": tally.answers["200 resumed"],
        "conflicts409": tally.answers["409 TaskBusy"],
        "vendorFailures502": sum(n for k, n in tally.answers.items() if k.startswith("502")),
        "surplusDeleted": events.get("surplus_deleted", 0),
        "events": events,
        "answers": dict(tally.answers.most_common()),
        "gaveUp": {str(t): why for t, why in list(tally.gave_up.items())[:50]},
    }


# Output and the command line --------------------------------------------------------------------

ROWS = (
    ("tasks synced / sent", lambda f: f"{f['synced']} / {f['tasks']}"),
    ("duplicates ({duplicates})", lambda f: f["duplicates"]),
    ("losses (journalled writes missing)", lambda f: f["losses"]),
    ("stuck tasks (not synced)", lambda f: f["stuck"]),
    ("app processes", lambda f: f["processes"]),
    ("faults injected", lambda f: f"{f['faultsInjected']} {_kinds(f['faultsByKind'])}"),
    ("kill -9 done", lambda f: f["kills"]),
    ("syncs that resumed an interrupted run", lambda f: f["resumedSyncs"]),
    ("409 TaskBusy answers", lambda f: f["conflicts409"]),
    ("502 answers (vendor failure)", lambda f: f["vendorFailures502"]),
    ("surplus copies deleted by verification", lambda f: f["surplusDeleted"]),
    ("{psa} calls", lambda f: f["vendorCalls"]),
    ("{psa} calls per synced task", lambda f: f"{f['vendorCallsPerTask']:.2f}"),
    ("sync runs journalled (failed)", lambda f: f"{f['runs']} ({f['failedRuns']})"),
    ("creates journalled", lambda f: f["creates"]),
    ("soak wall time", lambda f: f"{f['wallSeconds']:.1f} s"),
    ("setup + audit time", lambda f: f"{f['setupAndAuditSeconds']:.1f} s"),
)
AUTOTASK_ROWS = (
    ("unit mismatches (units ≠ before + Δ)", lambda f: f["unitMismatches"]),
    (
        "adjustments received / charges marked",
        lambda f: f"{f['adjustmentsReceived']} / {f['chargesMarked']}",
    ),
    ("thread-limit refusals (Itgenatr005)", lambda f: f["threadLimitRefusals"]),
)
PROBLEMS = ("duplicateKeys", "duplicateWrites", "mismatches", "lostWrites", "stuckTasks")


def _kinds(counts: dict[str, int]) -> str:
    return "(" + ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items())) + ")"


def show(backend: str, figures: dict[str, Any]) -> None:
    """A readable table of one backend's figures, with the problems found listed below it."""
    autotask = figures["psa"] == "autotask"
    psa = "Autotask" if autotask else "ConnectWise"
    duplicates = "adjustments or charge keys > 1" if autotask else "keys on ConnectWise > 1"
    print(f"\n{backend} ({psa})")
    for label, value in (*ROWS, *(AUTOTASK_ROWS if autotask else ())):
        print(f"  {label.format(psa=psa, duplicates=duplicates):42s} {value(figures)}")
    for label, name in (("Sync answers", "answers"), ("journalled actions", "actionOutcomes")):
        counts = ", ".join(f"{kind}: {count}" for kind, count in figures[name].items())
        print(f"  {label:42s} {counts}")
    for name in (*PROBLEMS, "tasksSucceededTwice"):
        for item in figures.get(name, []):
            print(f"  ! {name}: {item}")


def describe(config: Config) -> str:
    """The settings the figures depend on, in one paragraph."""
    mix = ", ".join(f"{name[5:]} {config.fault_rate * s:.0%}" for name, s in FAULT_MIX.items())
    return (
        f"soak: {config.syncs} tasks, {config.concurrency} in flight, {config.kills} kill -9s "
        f"(seed {config.seed}); faults on {config.fault_rate:.0%} of {config.psa_name} calls "
        f"under {config.fault_prefix} ({mix}; Retry-After {config.retry_after} s, late applies "
        f"held {config.late_hold:g} s), {config.latency_ms} ms added latency; "
        + (
            f"Autotask's thread limit {config.thread_limit} per endpoint, hourly budget lifted; "
            if config.psa == "autotask"
            else ""
        )
        + f"PSASYNC_SYNC_LEASE_SECONDS={config.lease} and "
        f"PSASYNC_UNKNOWN_OUTCOME_QUIET_SECONDS={config.quiet} (shortened from 300 and 75 to "
        "keep the run short; the quiet period stays longer than the late-apply hold)"
    )


def parse(argv: Sequence[str] | None = None) -> Config:
    """The command line as a :class:`Config`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psa", choices=["connectwise", "autotask"], default="connectwise")
    parser.add_argument("--syncs", type=int, default=1000, help="tasks to sync per backend")
    parser.add_argument("--kills", type=int, default=20, help="kill -9s per backend")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=12, help="tasks in flight")
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--retry-after", type=int, default=1, help="seconds, on each 429")
    parser.add_argument("--late-hold", type=float, default=2.0, help="seconds a late write waits")
    parser.add_argument("--quiet", type=int, default=4, help="unknown-outcome quiet seconds")
    parser.add_argument("--lease", type=int, default=3, help="sync lease seconds")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every vendor call")
    parser.add_argument("--max-attempts", type=int, default=60, help="Syncs of one task")
    parser.add_argument("--time-limit", type=float, default=1200, help="seconds per backend")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep-logs", action="store_true", help="keep the app logs")
    parser.add_argument(
        "--thread-limit", type=int, default=3, help="Autotask's requests in flight per endpoint"
    )
    args = parser.parse_args(argv)
    if args.quiet <= args.late_hold:
        parser.error("--quiet must be longer than --late-hold")
    if args.thread_limit < 1:
        parser.error("--thread-limit must be positive")
    if args.syncs < 1 or args.concurrency < 1 or args.kills < 0:
        parser.error("--syncs and --concurrency must be positive, --kills not negative")
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    return Config(
        psa=args.psa,
        syncs=args.syncs,
        kills=args.kills,
        backends=backends,
        concurrency=args.concurrency,
        fault_rate=args.fault_rate,
        retry_after=args.retry_after,
        late_hold=args.late_hold,
        quiet=args.quiet,
        lease=args.lease,
        latency_ms=args.latency_ms,
        max_attempts=args.max_attempts,
        time_limit=args.time_limit,
        seed=args.seed,
        as_json=args.json,
        keep_logs=args.keep_logs,
        thread_limit=args.thread_limit,
    )


def write_fixture(config: Config, folder: Path) -> Path:
    """One order per customer (so one task per agreement), in last month."""
    month = add_months(dt.datetime.now(dt.UTC).date().replace(day=1), -1)
    data = generate_fixture(
        customers=config.syncs,
        subscriptions=config.syncs,
        orders=config.syncs,
        month=month,
        seed=config.seed,
    )
    if config.psa == "autotask":
        data = on_autotask(data, month)
    path = folder / "fixture.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def on_autotask(data: dict[str, Any], month: dt.date) -> dict[str, Any]:
    """The generated fixture with its ConnectWise section moved to Autotask: each company,
    catalog item and agreement becomes a company, a Service (the MPN as SKU and part number)
    and a monthly Recurring Service contract; each addition a contract service holding its
    quantity as units. The contracts start two months before the orders' month and end a year
    after it, so every order falls inside them (and no period is posted)."""
    connectwise = data.pop("connectwise")
    start = add_months(month, -2)
    end = add_months(month, 12) - ONE_DAY
    catalog = {item["id"]: item for item in connectwise["catalog"]}
    data["autotask"] = {
        "credentials": [AUTOTASK_CREDENTIALS],
        "currencies": [
            {"id": 1, "name": "USD", "description": "US Dollar", "isInternalCurrency": True}
        ],
        "companies": [
            {"id": c["id"], "companyName": c["name"], "currencyID": 1}
            for c in connectwise["companies"]
        ],
        "services": [
            {
                "id": item["id"],
                "name": item["description"],
                "unitPrice": item["price"],
                "unitCost": item["cost"],
                "periodType": "Monthly",
                "sku": item["manufacturerPartNumber"],
                "catalogNumberPartNumber": item["manufacturerPartNumber"],
            }
            for item in connectwise["catalog"]
        ],
        "contracts": [
            {
                "id": a["id"],
                "contractName": a["name"],
                "companyID": a["company"]["id"],
                "contractType": "Recurring Service",
                "status": "Active",
                "contractPeriodType": "Monthly",
                "startDate": start.isoformat(),
                "endDate": end.isoformat(),
            }
            for a in connectwise["agreements"]
        ],
        "contractServices": [
            {
                "id": addition["id"],
                "contractID": addition["agreementId"],
                "serviceID": addition["product"]["id"],
                "unitPrice": addition["unitPrice"],
                "unitCost": addition["unitCost"],
                "invoiceDescription": catalog[addition["product"]["id"]]["customerDescription"],
                "units": addition["quantity"],
                "effectiveDate": start.isoformat(),
            }
            for addition in connectwise["additions"]
        ],
    }
    return data


def failed(figures: dict[str, Any]) -> bool:
    """Not 0 duplicates / 0 losses / 0 stuck (and, on Autotask, 0 unit mismatches)."""
    return bool(
        figures["duplicates"]
        or figures["losses"]
        or figures["stuck"]
        or figures.get("unitMismatches", 0)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Soak each backend, print the figures; 1 unless every backend is 0 / 0 / 0."""
    config = parse(argv)
    folder = Path(tempfile.mkdtemp(prefix="psasync-soak-"))
    log = sys.stderr if config.as_json else sys.stdout
    print(describe(config), file=log)
    results: dict[str, dict[str, Any]] = {}
    fixture = write_fixture(config, folder)
    for backend in config.backends:
        print(f"\n{backend}: running…", file=log, flush=True)
        try:
            results[backend] = asyncio.run(run_backend(config, backend, fixture, folder))
        except BaseException:
            print(f"\n{backend} broke off; logs kept in {folder}", file=log)
            raise
        if not config.as_json:
            show(backend, results[backend])
    bad = any(failed(figures) for figures in results.values())
    if config.as_json:
        print(json.dumps({"backends": results}, indent=2))
    if bad or config.keep_logs:
        print(f"\nlogs kept in {folder}", file=log)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    verdict = "FAILED: not 0 / 0 / 0" if bad else "0 duplicates / 0 losses / 0 stuck"
    if config.psa == "autotask" and not bad:
        verdict += " / 0 unit mismatches"
    print(f"\n{verdict}", file=log)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
