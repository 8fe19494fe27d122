"""psasync's record of background jobs: created queued, run, progressed and finished here.

Procrastinate queues and runs the work; this table is what the jobs page and
``GET /api/v1/jobs`` read, the same on SQLite and PostgreSQL, scoped to one tenant.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.store.models import Job, JobKind, JobPart, JobStatus


async def create_job(
    session: AsyncSession,
    *,
    tenant_id: int,
    kind: JobKind,
    actor: str,
    params: dict[str, Any],
    now: dt.datetime,
) -> Job:
    job = Job(
        tenant_id=tenant_id,
        kind=kind.value,
        status=JobStatus.QUEUED.value,
        actor=actor,
        params_json=json.dumps(params, sort_keys=True),
        progress_done=0,
        attempts=0,
        created_at=now,
    )
    session.add(job)
    await session.flush()
    return job


async def start_job(session: AsyncSession, job_id: int, *, now: dt.datetime) -> Job | None:
    """Mark the job running (again, after a crashed attempt); None when it already ended."""
    job = await session.get(Job, job_id, populate_existing=True)
    if job is None or job.status not in (JobStatus.QUEUED.value, JobStatus.RUNNING.value):
        return None
    job.status = JobStatus.RUNNING.value
    job.started_at = job.started_at or now
    job.attempts += 1
    await session.flush()
    return job


async def set_progress(session: AsyncSession, job_id: int, *, done: int, total: int | None) -> None:
    await session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(progress_done=done, progress_total=total)
        .execution_options(synchronize_session=False)
    )


async def finish_job(
    session: AsyncSession,
    job_id: int,
    *,
    status: JobStatus,
    now: dt.datetime,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """End the job if it has not ended yet; False when it had (another worker ended it)."""
    ended = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(_UNENDED))
        .values(
            status=status.value,
            finished_at=now,
            result_json=json.dumps(result, sort_keys=True) if result is not None else None,
            error=error,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(ended, "rowcount", 0))


_UNENDED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


async def keep_interim(session: AsyncSession, job_id: int, interim: dict[str, Any]) -> None:
    """What a running job learned before its parts run (the finisher reads it back). The
    first attempt's is kept: a retried job finds what the first already did (a check's new
    tasks are not new the second time)."""
    await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.result_json.is_(None))
        .values(result_json=json.dumps(interim, sort_keys=True))
        .execution_options(synchronize_session=False)
    )


async def add_parts(session: AsyncSession, job_id: int, keys: Sequence[str]) -> list[str]:
    """Record the job's parts (those it has not recorded yet: a retried job finds its earlier
    ones); the keys still without a result, in order."""
    known = {
        part.key: part
        for part in await session.scalars(select(JobPart).where(JobPart.job_id == job_id))
    }
    position = max((part.position for part in known.values()), default=-1)
    for key in keys:
        if key not in known:
            position += 1
            known[key] = JobPart(job_id=job_id, key=key, position=position)
            session.add(known[key])
    await session.flush()
    ordered = sorted(known.values(), key=lambda part: part.position)
    return [part.key for part in ordered if part.finished_at is None]


async def finish_part(
    session: AsyncSession, job_id: int, key: str, *, result: dict[str, Any], now: dt.datetime
) -> bool:
    """Record a part's result unless one is recorded already (a retried part); True if this
    call recorded it."""
    recorded = await session.execute(
        update(JobPart)
        .where(JobPart.job_id == job_id, JobPart.key == key, JobPart.finished_at.is_(None))
        .values(result_json=json.dumps(result, sort_keys=True), finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(recorded, "rowcount", 0))


async def job_of(session: AsyncSession, job_id: int) -> Job | None:
    """A job by its id alone: for the worker running it, who has no tenant to scope by."""
    return await session.get(Job, job_id, populate_existing=True)


async def part_of(session: AsyncSession, job_id: int, key: str) -> JobPart | None:
    return await session.get(JobPart, (job_id, key), populate_existing=True)


async def parts_in_hand(session: AsyncSession, tenant_id: int, *, besides: int) -> set[str]:
    """The keys of the parts the tenant's other running jobs have not finished: a task one job
    is settling is not another's to take."""
    found = await session.scalars(
        select(JobPart.key)
        .join(Job, Job.id == JobPart.job_id)
        .where(
            Job.tenant_id == tenant_id,
            Job.id != besides,
            Job.status == JobStatus.RUNNING.value,
            JobPart.finished_at.is_(None),
        )
    )
    return set(found)


async def part_counts(session: AsyncSession, job_id: int) -> tuple[int, int]:
    """How many of the job's parts have a result, and how many it has."""
    row = (
        await session.execute(
            select(func.count(JobPart.finished_at), func.count()).where(JobPart.job_id == job_id)
        )
    ).one()
    return int(row[0]), int(row[1])


async def part_results(session: AsyncSession, job_id: int) -> list[dict[str, Any]]:
    """The results of the job's finished parts, in the order the parts were created."""
    found = await session.scalars(
        select(JobPart.result_json)
        .where(JobPart.job_id == job_id, JobPart.finished_at.is_not(None))
        .order_by(JobPart.position)
    )
    return [json.loads(text) for text in found if text]


async def get_job(session: AsyncSession, tenant_id: int, job_id: int) -> Job | None:
    found = await session.scalars(select(Job).where(Job.tenant_id == tenant_id, Job.id == job_id))
    return found.first()


async def list_jobs(
    session: AsyncSession,
    tenant_id: int,
    *,
    kind: JobKind | None = None,
    status: JobStatus | None = None,
    limit: int,
    offset: int,
) -> tuple[list[Job], int]:
    """The tenant's jobs, newest first, and how many match."""
    where = [Job.tenant_id == tenant_id]
    if kind is not None:
        where.append(Job.kind == kind.value)
    if status is not None:
        where.append(Job.status == status.value)
    total = await session.scalar(select(func.count()).select_from(Job).where(*where))
    rows = await session.scalars(
        select(Job)
        .where(*where)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
