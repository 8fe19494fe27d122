"""Real ``psasync serve`` and ``psasync worker`` processes over loopback, for the tests that kill
them.

The sandboxes run on a thread of the test process (their faults switched directly); each app and
each worker is its own operating-system process on a shared database, so ``kill -9`` is a real
crash.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PSASYNC = str(Path(sys.executable).with_name("psasync"))
START_TIMEOUT = 30.0
NORTHWIND = {
    "marketplace": "us",
    "username": "demo@northwind-it.example",
    "password": "northwind-demo",
}
CONNECTWISE = {
    "companyId": "northwind",
    "publicKey": "demoPublicKey01",
    "privateKey": "demoPrivateKey01",
    "clientId": "5b1c2a6e-3f4d-4e8a-9c1b-7d2e6f8a9b0c",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def app_environment(
    *,
    sandbox_url: str,
    database_url: str,
    subscription_key: str = "demo-us-gateway-key",
    **settings: str,
) -> dict[str, str]:
    """The environment of a ``psasync serve`` (or ``worker``) against the sandbox — the demo's
    fixture unless ``subscription_key`` names another's marketplace key; ``settings`` are extra
    ``PSASYNC_*`` values by their lower-case suffix (``sync_lease_seconds="5"``)."""
    marketplace = {
        "code": "us",
        "name": "Cloud Marketplace US",
        "url": f"{sandbox_url}/marketplace/us",
        "subscriptionKey": subscription_key,
    }
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PSASYNC_")
    }
    environment.update(
        PSASYNC_DATABASE_URL=database_url,
        PSASYNC_SECRET_KEY="process-test-secret-key-0123456789abcdef",
        PSASYNC_MARKETPLACES=json.dumps([marketplace]),
        # The demo's orders are dated November 2026; reach them whenever the test runs.
        PSASYNC_CHECK_LOOKBACK_DAYS="3650",
    )
    environment.update({f"PSASYNC_{key.upper()}": value for key, value in settings.items()})
    return environment


@dataclass
class AppProcess:
    """One ``psasync serve`` process and its base URL."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def kill(self) -> None:
        """``kill -9``: no shutdown, no finally blocks, no goodbyes."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    async def login(self, credentials: dict[str, str] | None = None) -> httpx.AsyncClient:
        """A logged-in API client (cookie and CSRF token) on this process: the demo's reseller,
        or ``credentials`` (marketplace, username, password)."""
        client = httpx.AsyncClient(base_url=self.url, timeout=300)
        answer = await client.post("/api/v1/auth/login", json=credentials or NORTHWIND)
        answer.raise_for_status()
        client.headers["X-CSRF-Token"] = answer.json()["csrfToken"]
        self.clients.append(client)
        return client


@contextmanager
def serving(environment: dict[str, str], log: Path) -> Iterator[AppProcess]:
    """Start ``psasync serve`` and wait until it answers; stopped (if still alive) on exit."""
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [PSASYNC, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    app = AppProcess(process=process, url=f"http://127.0.0.1:{port}", log=log)
    try:
        _wait_until_answering(app)
        yield app
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                app.kill()


def _wait_until_answering(app: AppProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise RuntimeError(f"psasync serve exited: {app.log.read_text()[-2000:]}")
        try:
            httpx.get(f"{app.url}/api/v1/auth/session", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"psasync serve did not answer within {START_TIMEOUT}s")


# Workers ----------------------------------------------------------------------------------------

WORKER_STARTED = "psasync worker running"


@dataclass
class WorkerProcess:
    """One ``psasync worker`` process (PostgreSQL) and its log."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """``kill -9`` mid-job: the job it held stays "doing" in the queue until a worker finds
        it stalled (no heartbeat) and retries it."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def working(
    environment: dict[str, str], log: Path, *, concurrency: int = 4
) -> Iterator[WorkerProcess]:
    """Start ``psasync -v worker`` (its INFO lines in ``log``: which jobs it runs) and wait until
    it says it runs; stopped (if still alive) on exit."""
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [PSASYNC, "-v", "worker", "--concurrency", str(concurrency)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process=process, log=log)
    try:
        _wait_until_working(worker)
        yield worker
    finally:
        if worker.alive:
            process.terminate()  # a graceful stop: the running jobs end first
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()


def _wait_until_working(worker: WorkerProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not worker.alive:
            raise RuntimeError(f"psasync worker exited: {worker.output()[-2000:]}")
        if WORKER_STARTED in worker.output():
            return
        time.sleep(0.1)
    raise RuntimeError(f"psasync worker did not start within {START_TIMEOUT}s")
