"""Background jobs as the reseller sees them, and the one entry point a worker runs them by.

A use case that works in the background creates a ``jobs`` row (queued) and enqueues its id
(:func:`submit`). A worker calls :func:`run_job` with that id: the row goes running, the job's
kind names the use case, progress is recorded as it goes, and the row ends succeeded or failed
with its result or reason. A worker may die at any moment: the job is run again and converges,
because every state that matters lives in psasync's own tables (a check re-runs from its
watermark, a sync resumes from its journal).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from psasync.services.actor import Actor
from psasync.services.context import Services
from psasync.services.errors import Conflict, Invalid, NotFound, ServiceError
from psasync.services.queue import JobQueue, QueueBusy
from psasync.store import Job, JobKind, JobStatus

__all__ = [
    "RUNNERS",
    "JobKind",
    "JobPage",
    "JobStatus",
    "JobView",
    "get_job",
    "list_jobs",
    "run_job",
    "runs",
    "submit",
]
from psasync.store import jobs as store

log = logging.getLogger(__name__)

# What a job of each kind runs: the use case, given the job's record and a progress reporter.
Progress = Callable[[int, int | None], Awaitable[None]]
Runner = Callable[[Services, "JobView", Progress], Awaitable[dict[str, Any]]]
RUNNERS: dict[JobKind, Runner] = {}


def runs(kind: JobKind) -> Callable[[Runner], Runner]:
    """Register the use case that runs jobs of ``kind`` (one per kind)."""

    def register(runner: Runner) -> Runner:
        if kind in RUNNERS:
            raise ValueError(f"jobs of kind {kind.value} already have a runner")
        RUNNERS[kind] = runner
        return runner

    return register


@dataclass(frozen=True)
class JobView:
    id: int
    tenant_id: int
    kind: JobKind
    status: JobStatus
    actor: str
    params: dict[str, Any]
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    progress_done: int
    progress_total: int | None
    result: dict[str, Any] | None
    error: str | None
    attempts: int

    @classmethod
    def of(cls, job: Job) -> JobView:
        return cls(
            id=job.id,
            tenant_id=job.tenant_id,
            kind=JobKind(job.kind),
            status=JobStatus(job.status),
            actor=job.actor,
            params=json.loads(job.params_json),
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            progress_done=job.progress_done,
            progress_total=job.progress_total,
            result=json.loads(job.result_json) if job.result_json else None,
            error=job.error,
            attempts=job.attempts,
        )


def queue_of(services: Services) -> JobQueue:
    if services.queue is None:
        raise Invalid("Background jobs are not available in this process.", code="NoJobQueue")
    return services.queue


async def submit(
    services: Services,
    actor: Actor,
    kind: JobKind,
    params: dict[str, Any],
    *,
    lock: str | None = None,
    queueing_lock: str | None = None,
) -> JobView:
    """Record a queued job for the actor's tenant and hand it to the queue.

    If the queue refuses it (``QueueBusy``: one is already waiting), the record is ended as
    cancelled and the refusal is raised as a 409.
    """
    queue = queue_of(services)
    async with services.db.session() as session:
        job = await store.create_job(
            session,
            tenant_id=actor.tenant_id,
            kind=kind,
            actor=actor.name,
            params=params,
            now=services.now(),
        )
        view = JobView.of(job)
    try:
        await queue.enqueue(view.id, lock=lock, queueing_lock=queueing_lock)
    except Exception as error:
        async with services.db.session() as session:
            await store.finish_job(
                session,
                view.id,
                status=JobStatus.CANCELLED,
                now=services.now(),
                error=f"not queued: {error}",
            )
        if isinstance(error, QueueBusy):
            raise Conflict(
                f"A {kind.value} job is already waiting for this account.", code="JobQueued"
            ) from None
        raise
    return view


async def run_job(services: Services, job_id: int) -> JobView | None:
    """Run psasync job ``job_id`` to its end (a worker's one entry point)."""
    async with services.db.session() as session:
        job = await store.start_job(session, job_id, now=services.now())
        view = JobView.of(job) if job is not None else None
    if view is None:
        log.info("job %s has already ended; nothing to run", job_id)
        return None

    async def progress(done: int, total: int | None) -> None:
        async with services.db.session() as session:
            await store.set_progress(session, job_id, done=done, total=total)

    try:
        result = await RUNNERS[view.kind](services, view, progress)
    except ServiceError as error:
        await _finish(services, job_id, JobStatus.FAILED, error=error.message)
        return await get_job_view(services, view.tenant_id, job_id)
    await _finish(services, job_id, JobStatus.SUCCEEDED, result=result)
    return await get_job_view(services, view.tenant_id, job_id)


async def _finish(
    services: Services,
    job_id: int,
    status: JobStatus,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    async with services.db.session() as session:
        await store.finish_job(
            session, job_id, status=status, now=services.now(), result=result, error=error
        )


async def get_job_view(services: Services, tenant_id: int, job_id: int) -> JobView:
    async with services.db.session() as session:
        job = await store.get_job(session, tenant_id, job_id)
    if job is None:
        raise NotFound(f"there is no job {job_id}", code="JobNotFound")
    return JobView.of(job)


async def get_job(services: Services, actor: Actor, job_id: int) -> JobView:
    """One of the actor's tenant's jobs; another tenant's is as absent as none."""
    return await get_job_view(services, actor.tenant_id, job_id)


@dataclass(frozen=True)
class JobPage:
    items: list[JobView]
    total: int


async def list_jobs(
    services: Services,
    actor: Actor,
    *,
    kind: JobKind | None = None,
    status: JobStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> JobPage:
    """The tenant's jobs, newest first."""
    async with services.db.session() as session:
        rows, total = await store.list_jobs(
            session, actor.tenant_id, kind=kind, status=status, limit=limit, offset=offset
        )
    return JobPage(items=[JobView.of(row) for row in rows], total=total)
