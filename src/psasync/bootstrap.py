"""Wiring a process: the job engine around the services (DESIGN §1, §2, §8).

    async with job_engine(services) as engine:     # serve/demo: queue, and on SQLite a worker
        ...
    async with job_engine(services, worker=False) as engine:   # psasync worker: runs its own
        await engine.run_worker_async(...)

Every command runs its coroutine with :func:`run` (uvloop where it is installed; ``serve`` and
the sandbox get the same loop from uvicorn's ``loop="auto"``).

On PostgreSQL, ``serve`` only queues; ``psasync worker`` processes (any number, any machines)
run the jobs. On the embedded SQLite default the queue lives in the process's memory, so the
``serve``/``demo`` process runs the worker itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

import procrastinate

from psasync.jobs.app import (
    ProcrastinateQueue,
    create_job_app,
    ensure_queue_schema,
    is_postgresql,
)
from psasync.services import Services

log = logging.getLogger(__name__)

T = TypeVar("T")


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (not on Windows), else asyncio's own (None).

    A sync is CPU-bound in the event loop's own work (a database hand-off and a vendor call are
    each several wake-ups): uvloop cuts a task's CPU by about a fifth (docs/performance.md).
    """
    try:
        import uvloop  # noqa: PLC0415 — optional: not installed on Windows
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a new event loop of :func:`event_loop_factory`'s kind."""
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        return runner.run(main)


def runs_embedded_worker(services: Services) -> bool:
    """Whether this process must run the jobs itself (the in-memory queue of SQLite)."""
    return not is_postgresql(services.settings.database_url)


@contextlib.asynccontextmanager
async def job_engine(
    services: Services, *, worker: bool | None = None, concurrency: int = 2
) -> AsyncIterator[procrastinate.App]:
    """Open the job app for ``services`` and set their queue; run a worker here if asked (by
    default: on SQLite, whose queue no other process can see)."""
    app = create_job_app(services.settings.database_url)
    embedded = runs_embedded_worker(services) if worker is None else worker
    async with app.open_async():
        await ensure_queue_schema(app, services.settings.database_url)
        services.queue = ProcrastinateQueue(app)
        running = (
            asyncio.create_task(run_worker(app, services, concurrency=concurrency))
            if embedded
            else None
        )
        try:
            yield app
        finally:
            services.queue = None
            if running is not None:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running


async def run_worker(
    app: procrastinate.App,
    services: Services,
    *,
    concurrency: int,
    install_signal_handlers: bool = False,
) -> None:
    """Run jobs until cancelled (or, for ``psasync worker``, until a signal asks it to stop)."""
    await app.run_worker_async(
        concurrency=concurrency,
        install_signal_handlers=install_signal_handlers,
        additional_context={"services": services},
    )
