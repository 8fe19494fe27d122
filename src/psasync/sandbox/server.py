"""One sandbox server hosting the emulators (DESIGN.md §4, §11).

- ConnectWise at the root (``/v4_6_release/apis/3.0/…`` and ``/login/companyinfo/{companyId}``);
- each marketplace at ``/marketplace/{code}``;
- Autotask at ``/atservicesrest`` (``/atservicesrest/v1.0/…``, ``zoneInformation`` included);
- ``/_sandbox/calls`` and ``/_sandbox/faults``: the call counters and the fault switch, for
  benchmarks and tests that drive a sandbox running in another process;
  ``/_sandbox/faults/injected``: the faults injected since the last switch, by kind;
- ``/_sandbox/connectwise/invoiced``: marks a ConnectWise agreement invoiced through a day;
- ``/_sandbox/autotask/posted``, ``/billing``, ``/adjustments``, ``/limits``: Autotask's
  approve-and-post, what it bills, the adjustments it received, its request limits.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import uvicorn
from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp

from psasync.sandbox import autotask
from psasync.sandbox.connectwise import connectwise_error_body, create_connectwise_app
from psasync.sandbox.connectwise.control import control_router
from psasync.sandbox.faults import (
    CallCounter,
    FaultInjector,
    FaultMiddleware,
    FaultSettings,
    hide_dropped_connection_tracebacks,
)
from psasync.sandbox.fixture import SandboxFixture
from psasync.sandbox.marketplace import create_marketplace_apps, marketplace_error_body

CONTROL_PREFIX = "/_sandbox"
# Seconds a served app has to start (its lifespan included) and to stop.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Sandbox:
    """The composed ASGI app with the fault switch and call counters shared by the emulators;
    ``autotask`` reaches the Autotask emulator's data and request limits in-process."""

    app: ASGIApp
    faults: FaultInjector
    calls: CallCounter
    marketplace_codes: tuple[str, ...]
    autotask: autotask.AutotaskSandbox | None = None


def _control_app(faults: FaultInjector, calls: CallCounter) -> FastAPI:
    control = FastAPI(title="psasync sandbox control", openapi_url=None)

    @control.get("/calls")
    def read_calls() -> list[dict[str, object]]:
        return [
            {"method": method, "path": path, "count": count}
            for (method, path), count in sorted(calls.snapshot().items())
        ]

    @control.delete("/calls", status_code=204)
    def reset_calls() -> None:
        calls.reset()

    @control.get("/faults")
    def read_faults() -> FaultSettings:
        return faults.settings

    @control.put("/faults")
    def switch_faults(settings: FaultSettings) -> FaultSettings:
        faults.configure(settings)
        return faults.settings

    @control.get("/faults/injected")
    def read_injected() -> dict[str, int]:
        """Faults injected since they were last switched, by kind: what a soak endured."""
        return faults.injected

    return control


def _correlation_id() -> list[tuple[bytes, bytes]]:
    """The marketplace gateway tags every answer, its refusals too, with a correlation id."""
    return [(b"x-correlation-id", str(uuid.uuid4()).encode())]


def build_sandbox(fixture: SandboxFixture, *, faults: FaultSettings | None = None) -> Sandbox:
    """The emulators seeded from ``fixture``, behind the shared fault injection."""
    injector, calls = FaultInjector(faults), CallCounter()
    connectwise_app = create_connectwise_app(fixture.connectwise)
    autotask_sandbox = autotask.build_autotask(fixture.autotask, faults=injector, calls=calls)
    control = _control_app(injector, calls)
    control.include_router(control_router(connectwise_app.state.connectwise), prefix="/connectwise")
    control.include_router(
        autotask.control_router(autotask_sandbox.state, autotask_sandbox.limits),
        prefix="/autotask",
    )
    mounts: list[BaseRoute] = [
        Mount(CONTROL_PREFIX, app=control),
        Mount(autotask.MOUNT, app=autotask_sandbox.app),
    ]
    marketplace_apps = create_marketplace_apps(fixture.marketplace)
    for code, marketplace_app in marketplace_apps.items():
        wrapped = FaultMiddleware(
            marketplace_app,
            faults=injector,
            calls=calls,
            error_body=marketplace_error_body,
            answer_headers=_correlation_id,
        )
        mounts.append(Mount(f"/marketplace/{code}", app=wrapped))
    connectwise = FaultMiddleware(
        connectwise_app,
        faults=injector,
        calls=calls,
        error_body=connectwise_error_body,
    )
    mounts.append(Mount("", app=connectwise))
    app = FastAPI(title="psasync sandbox", routes=mounts, openapi_url=None, docs_url=None)
    return Sandbox(
        app=app,
        faults=injector,
        calls=calls,
        marketplace_codes=tuple(marketplace_apps),
        autotask=autotask_sandbox,
    )


def base_url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 address in brackets."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


@contextlib.contextmanager
def serve_in_thread(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    lifespan: Literal["on", "off"] = "off",
) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a background thread; yields its base URL.

    ``port=0`` picks a free port (the URL names the one bound). ``lifespan="on"`` runs the app's
    start-up before the URL is yielded (a failing one is a :class:`RuntimeError`) and its
    shut-down when the block ends. Used by loopback tests, benchmarks and the demo.
    """
    hide_dropped_connection_tracebacks()
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan=lifespan)
    server = uvicorn.Server(config)

    def run() -> None:
        # uvicorn calls sys.exit when it cannot start (port in use, failing lifespan start-up);
        # on this thread that only ends the thread, which the loop below reports.
        with contextlib.suppress(SystemExit):
            server.run()

    thread = threading.Thread(target=run, name=f"psasync-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=STOP_TIMEOUT)
            raise RuntimeError(
                f"the server did not start on {base_url(host, port)} (uvicorn's log says why)"
            )
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield base_url(host, bound_port)
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT)
