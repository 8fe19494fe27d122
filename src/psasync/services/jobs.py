"""Background jobs as the reseller sees them, and the one entry point a worker runs them by.

A use case that works in the background creates a ``jobs`` row (queued) and enqueues its id
(:func:`submit`). A worker calls :func:`run_job` with that id: the row goes running, the job's
kind names the use case, progress is recorded as it goes, and the row ends succeeded or failed
with its result or reason. A worker may die at any moment: the job is run again and converges,
because every state that matters lives in psasync's own tables (a check re-runs from its
watermark, a sync resumes from its journal).

A job whose work splits into independent parts (an unattended run syncs each task on its own)
answers :class:`FanOut`: each part becomes a queued piece of work of its own that any worker
runs (:func:`run_part`, under the part's lock), its result recorded on a ``job_parts`` row; the
part that finds none left queues the job's end (:func:`finish`), which builds the result from
the parts' and ends the job. So a second worker takes half the parts, and no worker slot ever
waits on another.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from psasync.services.actor import Actor
from psasync.services.context import Services
from psasync.services.errors import Conflict, Invalid, NotFound, ServiceError
from psasync.services.queue import JobQueue, QueueBusy
from psasync.store import Job, JobKind, JobStatus

__all__ = [
    "RUNNERS",
    "FanOut",
    "JobKind",
    "JobPage",
    "JobStatus",
    "JobView",
    "finish",
    "get_job",
    "list_jobs",
    "run_job",
    "run_part",
    "runs",
    "runs_parts",
    "submit",
]
from psasync.store import jobs as store

log = logging.getLogger(__name__)

# What a job of each kind runs: the use case, given the job's record and a progress reporter;
# its result, or the parts its work continues as.
Progress = Callable[[int, int | None], Awaitable[None]]
Runner = Callable[[Services, "JobView", Progress], Awaitable["dict[str, Any] | FanOut"]]
RUNNERS: dict[JobKind, Runner] = {}


@dataclass(frozen=True)
class FanOut:
    """A runner's answer when its work goes on as parts, one per key (e.g. a task id).

    ``interim``: what the runner learned so far, kept on the job for the end. ``locks``: the
    lock each part runs under (parts sharing one, of this job or any other, never run at once
    and run in the order they were queued: the order of ``keys``).
    """

    keys: tuple[str, ...]
    interim: dict[str, Any]
    locks: Mapping[str, str]


# How the parts of a fanned-out job of each kind run (a part's result, a JSON object), and how
# the job ends: its result from the interim and the parts' results, in the order of the keys.
PartRunner = Callable[[Services, "JobView", str], Awaitable[dict[str, Any]]]
Finisher = Callable[
    [Services, "JobView", dict[str, Any], list[dict[str, Any]]], Awaitable[dict[str, Any]]
]


@dataclass(frozen=True)
class PartsOf:
    run: PartRunner
    finish: Finisher


PARTS: dict[JobKind, PartsOf] = {}


def runs_parts(kind: JobKind, *, finish: Finisher) -> Callable[[PartRunner], PartRunner]:
    """Register how the parts of a fanned-out job of ``kind`` run, and how the job ends."""

    def register(part: PartRunner) -> PartRunner:
        if kind in PARTS:
            raise ValueError(f"jobs of kind {kind.value} already have a part runner")
        PARTS[kind] = PartsOf(part, finish)
        return part

    return register


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
    # What a fanned-out job learned before its parts ran, kept for its end; not its result.
    interim: dict[str, Any] | None = None

    @classmethod
    def of(cls, job: Job) -> JobView:
        stored = json.loads(job.result_json) if job.result_json else None
        ended = job.status not in (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
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
            result=stored if ended else None,
            error=job.error,
            attempts=job.attempts,
            interim=None if ended else stored,
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
    if isinstance(result, FanOut):
        await _fan_out(services, view, result)
    else:
        await _finish(services, job_id, JobStatus.SUCCEEDED, result=result)
    return await get_job_view(services, view.tenant_id, job_id)


async def _fan_out(services: Services, job: JobView, fan_out: FanOut) -> None:
    """Record the job's parts and queue those without a result; with none left, its end.

    Run again (a retried job), it adds only the parts it had not recorded and queues again
    those still without a result: a part waiting already is not queued twice, and one running
    right now is run again after it under its lock and finds its result recorded.
    """
    if job.kind not in PARTS:
        raise RuntimeError(f"jobs of kind {job.kind.value} have no part runner")
    queue = queue_of(services)
    async with services.db.session() as session:
        await store.keep_interim(session, job.id, fan_out.interim)
        pending = await store.add_parts(session, job.id, fan_out.keys)
        done, total = await store.part_counts(session, job.id)
        await store.set_progress(session, job.id, done=done, total=total)
    for key in pending:
        await queue.enqueue_part(job.id, key, lock=fan_out.locks.get(key))
    if not pending:
        await queue.enqueue_finish(job.id)


async def run_part(services: Services, job_id: int, key: str) -> None:
    """Run part ``key`` of job ``job_id`` (a worker's entry point for parts) and record its
    result; the part that leaves none without a result queues the job's end."""
    async with services.db.session() as session:
        job = await store.job_of(session, job_id)
        view = JobView.of(job) if job is not None else None
        part = await store.part_of(session, job_id, key)
    if view is None or part is None or view.status is not JobStatus.RUNNING:
        log.info("part %s of job %s: the job is not running; nothing to do", key, job_id)
        return
    if part.finished_at is None:
        result = await PARTS[view.kind].run(services, view, key)
        async with services.db.session() as session:
            await store.finish_part(session, job_id, key, result=result, now=services.now())
    # Counted after the result is committed: of two parts ending at once, the later count
    # sees both, so the last part always queues the end (and the queue keeps it to one).
    async with services.db.session() as session:
        done, total = await store.part_counts(session, job_id)
        await store.set_progress(session, job_id, done=done, total=total)
    if done == total:
        await queue_of(services).enqueue_finish(job_id)


async def finish(services: Services, job_id: int) -> JobView | None:
    """End a fanned-out job whose parts have all run: its result from theirs. Nothing when it
    has ended already (a repeated end) or a part is still without a result."""
    async with services.db.session() as session:
        job = await store.job_of(session, job_id)
        view = JobView.of(job) if job is not None else None
        done, total = await store.part_counts(session, job_id)
        results = await store.part_results(session, job_id)
    if view is None or view.status is not JobStatus.RUNNING or done < total:
        return None
    try:
        result = await PARTS[view.kind].finish(services, view, view.interim or {}, results)
    except ServiceError as error:
        await _finish(services, job_id, JobStatus.FAILED, error=error.message)
    else:
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
