"""Never bill twice: a soak of Sync under vendor faults and ``kill -9``, on SQLite and PostgreSQL.

Run: ``.venv/bin/python bench/soak.py [--syncs 1000] [--kills 20] [--backend both] [--json]``

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
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from psasync.adapters.connectwise import ConnectWiseClient, ConnectWiseSite
from psasync.domain.billing import add_months
from psasync.sandbox.faults import FaultSettings
from psasync.sandbox.generate import CONNECTWISE_CREDENTIALS, LOGIN, generate_fixture
from psasync.store import Database

PSASYNC = str(Path(sys.executable).with_name("psasync"))
API = "/api/v1"
AGREEMENTS = "/v4_6_release/apis/3.0/finance/agreements"
MARKETPLACE = "/marketplace/"
GATEWAY_KEY = "bench-us-gateway-key"  # the generated fixture's marketplace subscription key
POSTGRES_URL_VARIABLE = "PSASYNC_SOAK_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 180.0  # one Sync may wait out retries and quiet periods
# How the fault rate is shared out between the kinds of fault.
FAULT_MIX = {"rate_429": 0.3, "rate_5xx": 0.25, "rate_drop": 0.25, "rate_late": 0.2}
SYNCED = frozenset({"200 synced", "409 TaskSynced"})
CREATED = frozenset({"applied", "found_applied"})


@dataclass(frozen=True)
class Config:
    """The command line, checked."""

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


async def eligible_agreement(client: httpx.AsyncClient, task: int) -> int | None:
    """The first agreement the app calls eligible for ``task``."""
    answer = await client.get(f"{API}/connectwise/tasks/{task}/agreements")
    answer.raise_for_status()
    return next((a["id"] for a in answer.json() if a["eligible"]), None)


async def prepare(client: httpx.AsyncClient, sandbox_url: str, wanted: int) -> dict[int, int]:
    """Connect ConnectWise, Check Changes; the first ``wanted`` tasks with their agreement."""
    settings = {"siteUrl": sandbox_url, **CONNECTWISE_CREDENTIALS}
    (await client.put(f"{API}/integrations/connectwise", json=settings)).raise_for_status()
    checked = await client.post(f"{API}/connectwise/check-changes")
    checked.raise_for_status()
    ids = sorted(task["id"] for task in await pages(client, f"{API}/connectwise/tasks"))
    agreements = await bounded(16, [eligible_agreement(client, task) for task in ids])
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
    """``--fault-rate`` of the calls under /finance/agreements, shared out by FAULT_MIX."""
    shares = {name: config.fault_rate * share for name, share in FAULT_MIX.items()}
    return FaultSettings.model_validate(
        {
            **shares,
            "retry_after_seconds": config.retry_after,
            "late_apply_seconds": config.late_hold,
            "path_prefix": AGREEMENTS,
            "seed": config.seed,
        }
    )


async def sync_once(app: App, task: int, agreement: int) -> str:
    """One Sync request on ``app``, as a kind of answer ("200 synced", "409 TaskBusy", …)."""
    try:
        await asyncio.wait_for(app.ready.wait(), START_TIMEOUT)
    except TimeoutError:
        return "app down"
    client = app.client
    if client is None:
        return "app down"
    path = f"{API}/connectwise/tasks/{task}/sync"
    try:
        answer = await client.post(path, json={"agreementId": agreement})
    except httpx.TimeoutException:
        return "request timed out"
    except httpx.TransportError:
        return "cut off by a kill"
    if answer.status_code == 200:
        return "200 synced"
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
        answers = list(await asyncio.gather(*(sync_once(app, task, agreement) for app in apps)))
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


async def history_of(client: httpx.AsyncClient, task: int) -> list[dict[str, Any]]:
    """The task's runs, newest first, as the history API lists them."""
    return await pages(client, f"{API}/connectwise/history", taskId=task)


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


async def connectwise_calls(control: httpx.AsyncClient) -> int:
    """ConnectWise calls the sandbox counted since the last reset (all but the marketplace's)."""
    answer = await control.get("/_sandbox/calls")
    answer.raise_for_status()
    return sum(e["count"] for e in answer.json() if not e["path"].startswith(MARKETPLACE))


async def audit(
    client: httpx.AsyncClient, sandbox_url: str, tasks: dict[int, int]
) -> dict[str, Any]:
    """Duplicates, losses and stuck tasks, from ConnectWise and the journal."""
    listed = await pages(client, f"{API}/connectwise/tasks")
    status = {t["id"]: (t["status"], t["error"]) for t in listed}
    keys = await read_keys(sandbox_url, list(tasks.values()))
    every_key = Counter(key for found in keys.values() for key in found)
    duplicates = sorted(key for key, count in every_key.items() if count > 1)
    ids = list(tasks)
    histories = await bounded(16, [history_of(client, task) for task in ids])
    runs = dict(zip(ids, histories, strict=True))
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
        "stuck": len(ids) - len(synced),
        "stuckTasks": [
            {"task": t, "status": status[t][0], "error": status[t][1]}
            for t in ids
            if status[t][0] != "synced"
        ][:50],
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
                figures = await drive(config, apps, url, database_url)
            finally:
                for app in apps:
                    await app.stop()
    figures["setupAndAuditSeconds"] = round(time.monotonic() - started - figures["wallSeconds"], 1)
    figures["processes"] = len(names)
    return figures


async def drive(config: Config, apps: list[App], url: str, database_url: str) -> dict[str, Any]:
    """Prepare, soak under faults and kills, then audit: the backend's figures."""
    first = apps[0].client
    assert first is not None
    tasks = await prepare(first, url, config.syncs)
    async with httpx.AsyncClient(base_url=url, timeout=30) as control:
        faults = fault_settings(config).model_dump(mode="json")
        (await control.put("/_sandbox/faults", json=faults)).raise_for_status()
        (await control.delete("/_sandbox/calls")).raise_for_status()
        began = time.monotonic()
        tally = await soak(apps, tasks, config)
        wall = time.monotonic() - began
        (await control.put("/_sandbox/faults", json={})).raise_for_status()
        calls = await connectwise_calls(control)
    await asyncio.sleep(config.late_hold + 1)  # every held write has landed
    client = apps[0].client
    assert client is not None
    found = await audit(client, url, tasks)
    events = await surplus_events(database_url)
    return {
        "tasks": len(tasks),
        **found,
        "connectwiseCalls": calls,
        "vendorCallsPerTask": round(calls / max(found["synced"], 1), 2),
        "wallSeconds": round(wall, 1),
        "kills": tally.kills,
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
    ("duplicates (keys on ConnectWise > 1)", lambda f: f["duplicates"]),
    ("losses (journalled creates missing)", lambda f: f["losses"]),
    ("stuck tasks (not synced)", lambda f: f["stuck"]),
    ("app processes", lambda f: f["processes"]),
    ("kill -9 done", lambda f: f["kills"]),
    ("409 TaskBusy answers", lambda f: f["conflicts409"]),
    ("502 answers (vendor failure)", lambda f: f["vendorFailures502"]),
    ("surplus copies deleted by verification", lambda f: f["surplusDeleted"]),
    ("ConnectWise calls", lambda f: f["connectwiseCalls"]),
    ("ConnectWise calls per synced task", lambda f: f"{f['vendorCallsPerTask']:.2f}"),
    ("sync runs journalled (failed)", lambda f: f"{f['runs']} ({f['failedRuns']})"),
    ("creates journalled", lambda f: f["creates"]),
    ("soak wall time", lambda f: f"{f['wallSeconds']:.1f} s"),
    ("setup + audit time", lambda f: f"{f['setupAndAuditSeconds']:.1f} s"),
)


def show(backend: str, figures: dict[str, Any]) -> None:
    """A readable table of one backend's figures, with the problems found listed below it."""
    print(f"\n{backend}")
    for label, value in ROWS:
        print(f"  {label:42s} {value(figures)}")
    for label, name in (("Sync answers", "answers"), ("journalled actions", "actionOutcomes")):
        counts = ", ".join(f"{kind}: {count}" for kind, count in figures[name].items())
        print(f"  {label:42s} {counts}")
    for name in ("duplicateKeys", "lostWrites", "stuckTasks", "tasksSucceededTwice"):
        for item in figures[name]:
            print(f"  ! {name}: {item}")


def describe(config: Config) -> str:
    """The settings the figures depend on, in one paragraph."""
    mix = ", ".join(f"{name[5:]} {config.fault_rate * s:.0%}" for name, s in FAULT_MIX.items())
    return (
        f"soak: {config.syncs} tasks, {config.concurrency} in flight, {config.kills} kill -9s "
        f"(seed {config.seed}); faults on {config.fault_rate:.0%} of ConnectWise calls under "
        f"{AGREEMENTS} ({mix}; Retry-After {config.retry_after} s, late applies held "
        f"{config.late_hold:g} s), {config.latency_ms} ms added latency; "
        f"PSASYNC_SYNC_LEASE_SECONDS={config.lease} and "
        f"PSASYNC_UNKNOWN_OUTCOME_QUIET_SECONDS={config.quiet} (shortened from 300 and 75 to "
        "keep the run short; the quiet period stays longer than the late-apply hold)"
    )


def parse(argv: Sequence[str] | None = None) -> Config:
    """The command line as a :class:`Config`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    args = parser.parse_args(argv)
    if args.quiet <= args.late_hold:
        parser.error("--quiet must be longer than --late-hold")
    if args.syncs < 1 or args.concurrency < 1 or args.kills < 0:
        parser.error("--syncs and --concurrency must be positive, --kills not negative")
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    return Config(
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
    path = folder / "fixture.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def failed(figures: dict[str, Any]) -> bool:
    """Not 0 duplicates / 0 losses / 0 stuck."""
    return bool(figures["duplicates"] or figures["losses"] or figures["stuck"])


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
    print(f"\n{verdict}", file=log)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
