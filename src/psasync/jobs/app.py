"""The Procrastinate app psasync's background work runs on.

On PostgreSQL it uses the psycopg connector on psasync's own database, and any number of
``psasync worker`` processes on any machines share the work. On the embedded SQLite default the
same app runs on Procrastinate's in-memory connector with its worker inside the ``serve`` or
``demo`` process: safe, because every state that matters lives in psasync's own tables (a job
lost with the process is re-run from those when it is submitted again).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import procrastinate
from procrastinate import testing
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.engine import make_url

# Every use case that runs as a job registers its runner when imported: a worker process
# that imports only this module must know them all.
from psasync.services import bulk_jobs, reconciliation_fix, unattended  # noqa: F401
from psasync.services import reconciliation as _reconciliation  # noqa: F401
from psasync.services.context import Services
from psasync.services.jobs import RUNNERS, JobKind, finish, run_job, run_part
from psasync.services.queue import QueueBusy

log = logging.getLogger(__name__)

JobFunction = TypeVar("JobFunction", bound=Callable[..., Awaitable[None]])

# Each app gets its own blueprint (a Procrastinate blueprint binds its tasks to one app);
# task modules add themselves here with :func:`job_task` and :func:`periodic_task`.
_TASKS: list[tuple[Callable[..., Awaitable[None]], dict[str, Any]]] = []
_PERIODIC: list[tuple[Callable[..., Awaitable[None]], dict[str, Any], dict[str, Any]]] = []


def job_task(**options: Any) -> Callable[[JobFunction], JobFunction]:
    """Declare a task of every job app (Procrastinate ``task`` options)."""

    def register(function: JobFunction) -> JobFunction:
        _TASKS.append((function, options))
        return function

    return register


def periodic_task(*, cron: str, **options: Any) -> Callable[[JobFunction], JobFunction]:
    """Declare a periodic task of every job app (deferred once per slot across all workers)."""

    def register(function: JobFunction) -> JobFunction:
        _PERIODIC.append((function, {"cron": cron}, options))
        return function

    return register


def _blueprint(*, shared: bool) -> procrastinate.Blueprint:
    """Every task; with ``shared`` (workers of several processes on one queue) also the retry
    of the jobs of workers that died."""
    blueprint = procrastinate.Blueprint()
    for function, options in _TASKS:
        blueprint.task(**options)(function)
    for function, schedule, options in _PERIODIC:
        blueprint.periodic(**schedule)(blueprint.task(**options)(function))
    if shared:
        retry = blueprint.task(
            name="retry_stalled_jobs", queueing_lock="retry_stalled_jobs", pass_context=True
        )
        blueprint.periodic(cron=STALLED_CRON)(retry(retry_stalled_jobs))
    return blueprint


# A job that fails for an unexpected reason (a crash, a database hiccup) is tried again with
# backoff: every job converges when run again (DESIGN §8). Refusals end the job, not retried.
RETRY = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=2)


def is_postgresql(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() in ("postgresql", "postgres")


def libpq_conninfo(database_url: str) -> str:
    """psasync's SQLAlchemy URL as psycopg's own connection string."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def create_job_app(database_url: str) -> procrastinate.App:
    """The app for psasync's database: psycopg on PostgreSQL, in memory on SQLite."""
    missing = sorted(kind.value for kind in JobKind if kind not in RUNNERS)
    if missing:  # a job kind nobody can run would fail every time it is queued
        raise RuntimeError(f"no runner for job kinds: {', '.join(missing)}")
    connector: Any
    if is_postgresql(database_url):
        connector = procrastinate.PsycopgConnector(conninfo=libpq_conninfo(database_url))
    else:
        connector = testing.InMemoryConnector()
    app = procrastinate.App(connector=connector)
    app.add_tasks_from(_blueprint(shared=is_postgresql(database_url)), namespace="psasync")
    return app


async def ensure_queue_schema(app: procrastinate.App, database_url: str) -> bool:
    """Install the job queue's tables on PostgreSQL if they are missing; True when it did.

    ``psasync db upgrade`` calls it; the in-memory queue of the SQLite default has none.
    """
    if not is_postgresql(database_url):
        return False
    found = await app.connector.execute_query_one_async(
        "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
    )
    if found["present"]:
        return False
    await app.schema_manager.apply_schema_async()
    log.info("installed the job queue's schema")
    return True


@job_task(name="run_job", pass_context=True, retry=RETRY)
async def run_job_task(context: procrastinate.JobContext, job_id: int) -> None:
    """Run one psasync job: the worker hands it the process's services."""
    services: Services = context.additional_context["services"]
    await run_job(services, job_id)


@job_task(name="run_job_part", pass_context=True, retry=RETRY)
async def run_job_part_task(context: procrastinate.JobContext, job_id: int, key: str) -> None:
    """Run one part of a fanned-out psasync job (an unattended run's sync of one task)."""
    services: Services = context.additional_context["services"]
    await run_part(services, job_id, key)


@job_task(name="finish_job", pass_context=True, retry=RETRY)
async def finish_job_task(context: procrastinate.JobContext, job_id: int) -> None:
    """End a fanned-out psasync job once its parts have run."""
    services: Services = context.additional_context["services"]
    await finish(services, job_id)


# A worker that dies (kill -9, a lost machine) leaves its jobs "doing", their locks held, until
# someone notices: Procrastinate's workers send a heartbeat every 10 s, and a job whose worker
# has been silent for longer than this is stalled. Procrastinate documents retrying them from a
# periodic task; every psasync job converges when run again (DESIGN §8), so that is safe here.
# Only on PostgreSQL: the in-memory queue of the SQLite default dies with its one worker.
STALLED_AFTER_SECONDS = 30.0


STALLED_CRON = "* * * * * */10"  # every 10 s (croniter's sixth field: seconds)


async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    """Hand the jobs of dead workers back to the queue, with their locks released."""
    del timestamp
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
        try:
            await manager.retry_job(job)
        except Exception as error:  # noqa: BLE001 - it ended meanwhile (another retry, its end)
            log.info("stalled job %s not retried: %s", job.id, error)
            continue
        log.warning(
            "retried job %s (%s, lock %s): its worker stopped sending heartbeats",
            job.id,
            job.task_name,
            job.lock,
        )


class ProcrastinateQueue:
    """The job queue port on a Procrastinate app."""

    def __init__(self, app: procrastinate.App) -> None:
        self.app = app

    async def enqueue(self, job_id: int, *, lock: str | None, queueing_lock: str | None) -> None:
        task = self.app.configure_task("psasync:run_job", lock=lock, queueing_lock=queueing_lock)
        try:
            await task.defer_async(job_id=job_id)
        except AlreadyEnqueued as error:
            raise QueueBusy(str(error)) from None

    async def enqueue_part(self, job_id: int, key: str, *, lock: str | None) -> None:
        task = self.app.configure_task(
            "psasync:run_job_part", lock=lock, queueing_lock=f"job:{job_id}:part:{key}"
        )
        with contextlib.suppress(AlreadyEnqueued):  # it waits already: once is enough
            await task.defer_async(job_id=job_id, key=key)

    async def enqueue_finish(self, job_id: int) -> None:
        # One end waits at most, and two never run at once: the second finds the job ended.
        name = f"job:{job_id}:finish"
        task = self.app.configure_task("psasync:finish_job", lock=name, queueing_lock=name)
        with contextlib.suppress(AlreadyEnqueued):
            await task.defer_async(job_id=job_id)


# Task modules register themselves with the decorators above when imported: the schedule of
# unattended runs (and, through it, the automation job's runner).
from psasync.jobs import schedule as _schedule  # noqa: E402,F401
