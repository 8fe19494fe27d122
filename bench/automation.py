"""Automation at scale (issue 15): one unattended run ("Run now") over thousands of new orders, on
PostgreSQL with 1 and then 2 ``psasync worker`` processes, every vendor call slowed down.

Run: ``.venv/bin/python bench/automation.py [--orders 5000] [--workers 1 2] [--json]``

For each worker count, on a fresh sandbox and a fresh database:

1. A generated fixture (``psasync.sandbox.generate``: ``--orders`` new orders last month, four
   per customer and agreement, every one syncable) is served by ``psasync sandbox
   --latency-ms`` in a process of its own; one ``psasync serve`` (it migrates the database and
   installs the job queue's tables) and N ``psasync worker --concurrency`` processes on it.
2. Log in, connect ConnectWise, switch automation on through the API (the integration user;
   auto-sync for every order type, priced from the marketplace, credits allowed, no practical
   amount limit), then ``POST /api/v1/connectwise/automation/run`` and follow the job
   (``GET /api/v1/jobs/{id}``) to its end.
3. Audit: every task synced or waiting with its reason, and every agreement's additions read
   straight from the sandbox: the number of idempotency keys found more than once.

Printed per worker count: wall time of the run (from "Run now" to the job's end), split into the
Check Changes phase (until the job knows how many tasks it will settle) and the settling phase;
wall time per 1,000 tasks; vendor calls per task and what they cost at the added latency if made
one after another; CPU seconds of each process and how busy the machine was; which worker
checked and how many tasks each synced. Then the speed-up of the second worker (goal: ≥ 1.7×
on a 2-core machine).

How it scales: the run checks (one worker), then each task it must decide is a part of the
job of its own (``services/jobs.py`` ``FanOut``; DESIGN §8's ``sync_task``), queued under its
customer's lock, so every worker takes parts — at most one per customer at a time, in the
order the orders were placed — and the part that finishes last queues the job's end (the
digest). Per task the run makes ~11.5 vendor calls in sequence (eligibility, catalog, plan,
writes, verification) and some 70 database statements; with ``--concurrency`` parts per
worker the bound is the machine's two cores (shared with the sandbox, ``serve`` and
PostgreSQL) and the vendors' rate limits, not one chain of calls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from psasync.adapters.connectwise import ConnectWiseClient, ConnectWiseSite
from psasync.domain.billing import add_months
from psasync.sandbox.generate import CONNECTWISE_CREDENTIALS, LOGIN, generate_fixture

PSASYNC = str(Path(sys.executable).with_name("psasync"))
API = "/api/v1"
MARKETPLACE = "/marketplace/"
GATEWAY_KEY = "bench-us-gateway-key"  # the generated fixture's marketplace subscription key
POSTGRES_URL_VARIABLE = "PSASYNC_BENCH_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_TIMEOUT = 60.0
ORDERS_PER_AGREEMENT = 4
WORKER_STARTED = "psasync worker running"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ON = {
    "schedule": {"every": None},
    "autoSync": {
        "orderTypes": ["sales", "change", "billing", "renewal", "cancellation"],
        "priceSource": "marketplace",
        "allowCredits": True,
        "maxAmount": "100000000.00",
    },
    "notify": {"emails": [], "webhookUrl": None},
    "marketplaceUser": LOGIN,
}


@dataclass(frozen=True)
class Config:
    orders: int
    workers: tuple[int, ...]
    concurrency: int
    latency_ms: int
    lease: int
    seed: int
    time_limit: float
    as_json: bool
    keep_logs: bool


# Processes --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of every CPU since boot (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return float(sum(values) - idle), float(sum(values))


@dataclass
class Process:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid) if self.process.poll() is None else float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start(name: str, command: list[str], log: Path, environment: dict[str, str] | None) -> Process:
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command
            command, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    return Process(name, process, log)


async def wait_answering(process: Process, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=1) as probe:
        while time.monotonic() < deadline:
            if process.process.poll() is not None:
                raise RuntimeError(f"{process.name} exited: {process.output()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                await probe.get(url)
                return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{process.name} did not answer within {START_TIMEOUT:.0f} s")


async def wait_working(process: Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while WORKER_STARTED not in process.output():
        if process.process.poll() is not None:
            raise RuntimeError(f"{process.name} exited: {process.output()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{process.name} did not start within {START_TIMEOUT:.0f} s")
        await asyncio.sleep(0.1)


@contextlib.contextmanager
def database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped at the end (the server started if it is down)."""
    admin = os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)
    ensure_postgres(admin)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            connection.execute(drop.format(sql.Identifier(name)))


def ensure_postgres(admin: str) -> None:
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


def environment_for(config: Config, *, sandbox_url: str, database_url: str) -> dict[str, str]:
    marketplace = {
        "code": "us",
        "name": "Cloud Marketplace US (bench)",
        "url": f"{sandbox_url}/marketplace/us",
        "subscriptionKey": GATEWAY_KEY,
    }
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PSASYNC_")}
    environment.update(
        PSASYNC_DATABASE_URL=database_url,
        PSASYNC_SECRET_KEY=secrets.token_urlsafe(32),
        PSASYNC_MARKETPLACES=json.dumps([marketplace]),
        PSASYNC_CHECK_LOOKBACK_DAYS="3650",
        PSASYNC_SYNC_LEASE_SECONDS=str(config.lease),
    )
    return environment


@dataclass
class Stage:
    sandbox_url: str
    serve: Process
    url: str
    workers: list[Process]
    sandbox: Process


@contextlib.asynccontextmanager
async def stage(config: Config, workers: int, fixture: Path, folder: Path) -> AsyncIterator[Stage]:
    """A fresh sandbox (its state changes as tasks sync) and database, serve and the workers."""
    started: list[Process] = []
    try:
        port = free_port()
        command = [PSASYNC, "sandbox", "--fixture", str(fixture), "--port", str(port)]
        command += ["--latency-ms", str(config.latency_ms)]
        sandbox = start("sandbox", command, folder / f"w{workers}-sandbox.log", None)
        started.append(sandbox)
        sandbox_url = f"http://127.0.0.1:{port}"
        await wait_answering(sandbox, f"{sandbox_url}/_sandbox/faults")
        with database(f"psasync_bench_automation_{os.getpid()}_{workers}") as database_url:
            environment = environment_for(
                config, sandbox_url=sandbox_url, database_url=database_url
            )
            port = free_port()
            command = [PSASYNC, "serve", "--host", "127.0.0.1", "--port", str(port)]
            serve = start("serve", command, folder / f"w{workers}-serve.log", environment)
            started.append(serve)
            url = f"http://127.0.0.1:{port}"
            await wait_answering(serve, f"{url}{API}/auth/session")  # migrated, queue installed
            crew = []
            for number in range(1, workers + 1):
                command = [PSASYNC, "-v", "worker", "--concurrency", str(config.concurrency)]
                log = folder / f"w{workers}-worker-{number}.log"
                crew.append(start(f"worker-{number}", command, log, environment))
            started.extend(crew)
            for worker in crew:
                await wait_working(worker)
            try:
                yield Stage(sandbox_url, serve, url, crew, sandbox)
            finally:
                for process in reversed(started[1:]):
                    process.stop()
    finally:
        for process in started:
            process.stop()


# The run ----------------------------------------------------------------------------------------


async def pages(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        answer = await client.get(path, params={"limit": 500, "offset": len(items)})
        answer.raise_for_status()
        body = answer.json()
        items += body["items"]
        if not body["items"] or len(items) >= body["total"]:
            return items


async def duplicate_keys(sandbox_url: str, agreements: Sequence[int]) -> tuple[int, int]:
    """(keys found, keys found more than once) over every agreement, read around psasync."""
    site = ConnectWiseSite(
        site_url=sandbox_url,
        company_id=CONNECTWISE_CREDENTIALS["companyId"],
        public_key=CONNECTWISE_CREDENTIALS["publicKey"],
        private_key=CONNECTWISE_CREDENTIALS["privateKey"],
        client_id=CONNECTWISE_CREDENTIALS["clientId"],
    )
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(timeout=120) as http:
        client = ConnectWiseClient(http, site)

        async def keys_of(agreement: int) -> list[str]:
            async with gate:
                return [a.sync_key for a in await client.additions(agreement) if a.sync_key]

        found = await asyncio.gather(*(keys_of(a) for a in agreements))
    keys = Counter(key for each in found for key in each)
    return len(keys), sum(1 for count in keys.values() if count > 1)


async def vendor_calls(sandbox_url: str) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=30) as control:
        answer = await control.get("/_sandbox/calls")
        answer.raise_for_status()
        entries = answer.json()
    marketplace = sum(e["count"] for e in entries if e["path"].startswith(MARKETPLACE))
    connectwise = sum(e["count"] for e in entries if not e["path"].startswith(MARKETPLACE))
    return {"marketplace": marketplace, "connectwise": connectwise}


async def reset_calls(sandbox_url: str) -> None:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=30) as control:
        (await control.delete("/_sandbox/calls")).raise_for_status()


async def run_scenario(
    config: Config, workers: int, fixture: Path, agreements: Sequence[int], folder: Path
) -> dict[str, Any]:
    """One unattended run with ``workers`` worker processes: its figures."""
    async with stage(config, workers, fixture, folder) as on:
        async with httpx.AsyncClient(base_url=on.url, timeout=120) as client:
            answer = await client.post(f"{API}/auth/login", json={"marketplace": "us", **LOGIN})
            answer.raise_for_status()
            client.headers["X-CSRF-Token"] = answer.json()["csrfToken"]
            connect = {"siteUrl": on.sandbox_url, **CONNECTWISE_CREDENTIALS}
            (await client.put(f"{API}/integrations/connectwise", json=connect)).raise_for_status()
            (await client.put(f"{API}/connectwise/automation", json=ON)).raise_for_status()
            await reset_calls(on.sandbox_url)
            processes = [on.serve, *on.workers, on.sandbox]
            cpu_before = {p.name: p.cpu() for p in processes}
            busy_before = machine_busy()

            began = time.monotonic()
            answer = await client.post(f"{API}/connectwise/automation/run")
            answer.raise_for_status()
            job_id = answer.json()["job"]["id"]
            checked: float | None = None
            while True:
                job = (await client.get(f"{API}/jobs/{job_id}")).json()
                if checked is None and job["progress"]["total"] is not None:
                    checked = time.monotonic()
                if job["status"] not in ("queued", "running"):
                    break
                if time.monotonic() - began > config.time_limit:
                    raise RuntimeError(f"the run did not end within {config.time_limit:.0f} s")
                await asyncio.sleep(0.2)
            wall = time.monotonic() - began

            busy_after = machine_busy()
            cpu = {p.name: round(p.cpu() - cpu_before[p.name], 1) for p in processes}
            calls = await vendor_calls(on.sandbox_url)
            tasks = await pages(client, f"{API}/connectwise/tasks")
        # Who did the work: the check (one worker), and each worker's share of the syncs.
        ran_by = [w.name for w in on.workers if f"unattended run (job {job_id})" in w.output()]
        synced_by = {w.name: w.output().count(" synced to agreement ") for w in on.workers}
        keys, duplicates = await duplicate_keys(on.sandbox_url, agreements)
    return figures_of(
        config, workers, job, tasks, wall, checked, began, calls, cpu, ran_by, synced_by,
        (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1.0),
        keys, duplicates,
    )  # fmt: skip


def figures_of(
    config: Config,
    workers: int,
    job: dict[str, Any],
    tasks: list[dict[str, Any]],
    wall: float,
    checked: float | None,
    began: float,
    calls: dict[str, int],
    cpu: dict[str, float],
    ran_by: list[str],
    synced_by: dict[str, int],
    machine: float,
    keys: int,
    duplicates: int,
) -> dict[str, Any]:
    result = job.get("result") or {}
    counts = result.get("counts") or {}
    status = Counter(
        "synced"
        if t["status"] == "synced"
        else "waiting"
        if t["status"] == "new" and t["waitingReason"]
        else f"other ({t['status']})"
        for t in tasks
    )
    settled = max(len(tasks), 1)
    check_seconds = (checked - began) if checked is not None else float("nan")
    total_calls = calls["marketplace"] + calls["connectwise"]
    serial_latency = total_calls * config.latency_ms / 1000
    return {
        "workers": workers,
        "concurrencyPerWorker": config.concurrency,
        "jobStatus": job["status"],
        "jobError": job.get("error"),
        "tasks": len(tasks),
        "synced": status["synced"],
        "waiting": status["waiting"],
        "other": {k: n for k, n in status.items() if k not in ("synced", "waiting")},
        "failed": counts.get("failed"),
        "busy": counts.get("busy"),
        "duplicateKeys": duplicates,
        "keysOnConnectWise": keys,
        "wallSeconds": round(wall, 1),
        "checkChangesSeconds": round(check_seconds, 1),
        "settleSeconds": round(wall - check_seconds, 1),
        "secondsPer1000Tasks": round(wall / settled * 1000, 1),
        "vendorCalls": calls,
        "vendorCallsPerTask": round(total_calls / settled, 2),
        "latencyIfSerialSeconds": round(serial_latency, 1),
        "latencyShareOfWall": round(serial_latency / wall, 2) if wall else None,
        "cpuSeconds": cpu,
        "machineBusy": round(machine, 2),
        "checkedBy": ran_by,
        "syncedBy": synced_by,
    }


# Output -----------------------------------------------------------------------------------------


def rows(f: dict[str, Any]) -> list[tuple[str, str]]:
    """One run's figures as labelled lines."""
    calls, share = f["vendorCalls"], f["latencyShareOfWall"]
    return [
        ("tasks: synced / waiting / other", f"{f['synced']} / {f['waiting']} / {f['other']}"),
        ("run: status, failed, busy", f"{f['jobStatus']}, {f['failed']}, {f['busy']}"),
        ("duplicate keys on ConnectWise", f"{f['duplicateKeys']} of {f['keysOnConnectWise']}"),
        ("wall time (Run now → job ended)", f"{f['wallSeconds']:.1f} s"),
        ("  Check Changes / settling", f"{f['checkChangesSeconds']} s / {f['settleSeconds']} s"),
        ("wall time per 1,000 tasks", f"{f['secondsPer1000Tasks']:.1f} s"),
        ("vendor calls (marketplace / CW)", f"{calls['marketplace']} / {calls['connectwise']}"),
        ("vendor calls per task", f"{f['vendorCallsPerTask']:.2f}"),
        ("their latency, one after another", f"{f['latencyIfSerialSeconds']:.1f} s ({share:.0%})"),
        ("CPU seconds by process", ", ".join(f"{k} {v}" for k, v in f["cpuSeconds"].items())),
        ("machine busy (all processes, 100%)", f"{f['machineBusy']:.0%}"),
        ("Check Changes run by", ", ".join(f["checkedBy"]) or "?"),
        ("tasks synced by each worker", ", ".join(f"{k} {v}" for k, v in f["syncedBy"].items())),
    ]


def show(figures: dict[str, Any]) -> None:
    print(f"\n{figures['workers']} worker(s), {figures['concurrencyPerWorker']} jobs each")
    for label, value in rows(figures):
        print(f"  {label:36s} {value}")


def parse(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000, help="new orders (tasks)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=4, help="jobs per worker")
    parser.add_argument("--latency-ms", type=int, default=20, help="added to every vendor call")
    parser.add_argument("--lease", type=int, default=30, help="sync lease seconds")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--time-limit", type=float, default=7200, help="seconds per run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    if args.orders < ORDERS_PER_AGREEMENT or any(n < 1 for n in args.workers):
        parser.error(f"--orders ≥ {ORDERS_PER_AGREEMENT} and --workers ≥ 1")
    return Config(
        orders=args.orders,
        workers=tuple(args.workers),
        concurrency=args.concurrency,
        latency_ms=args.latency_ms,
        lease=args.lease,
        seed=args.seed,
        time_limit=args.time_limit,
        as_json=args.json,
        keep_logs=args.keep_logs,
    )


def write_fixture(config: Config, folder: Path) -> tuple[Path, list[int]]:
    month = add_months(dt.datetime.now(dt.UTC).date().replace(day=1), -1)
    data = generate_fixture(
        customers=config.orders // ORDERS_PER_AGREEMENT,
        subscriptions=config.orders,
        orders=config.orders,
        month=month,
        seed=config.seed,
    )
    path = folder / "fixture.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path, [int(a["id"]) for a in data["connectwise"]["agreements"]]


def main(argv: Sequence[str] | None = None) -> int:
    config = parse(argv)
    folder = Path(tempfile.mkdtemp(prefix="psasync-bench-automation-"))
    log = sys.stderr if config.as_json else sys.stdout
    print(
        f"automation bench: {config.orders} new orders, {config.latency_ms} ms added to every "
        f"vendor call, PostgreSQL, workers {list(config.workers)} ({config.concurrency} jobs "
        f"each), {os.cpu_count()} CPUs",
        file=log,
    )
    fixture, agreements = write_fixture(config, folder)
    runs: list[dict[str, Any]] = []
    for workers in config.workers:
        print(f"\n{workers} worker(s): running…", file=log, flush=True)
        try:
            runs.append(asyncio.run(run_scenario(config, workers, fixture, agreements, folder)))
        except BaseException:
            print(f"broke off; logs kept in {folder}", file=log)
            raise
        if not config.as_json:
            show(runs[-1])
    by_workers = {run["workers"]: run for run in runs}
    speedup = None
    if 1 in by_workers and 2 in by_workers:
        speedup = round(by_workers[1]["wallSeconds"] / by_workers[2]["wallSeconds"], 2)
    bad = any(
        run["duplicateKeys"] or run["other"] or run["jobStatus"] != "succeeded" for run in runs
    )
    if config.as_json:
        print(json.dumps({"orders": config.orders, "latencyMs": config.latency_ms,
                          "runs": runs, "speedup2vs1": speedup}, indent=2))  # fmt: skip
    elif speedup is not None:
        print(f"\nspeed-up from the second worker: {speedup:.2f}× (goal ≥ 1.7×)")
    if bad or config.keep_logs:
        print(f"logs kept in {folder}", file=log)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
