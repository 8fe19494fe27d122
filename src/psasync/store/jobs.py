"""psasync's record of background jobs: created queued, run, progressed and finished here.

Procrastinate queues and runs the work; this table is what the jobs page and
``GET /api/v1/jobs`` read, the same on SQLite and PostgreSQL, scoped to one tenant.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.store.models import Job, JobKind, JobStatus


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
) -> None:
    await session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(
            status=status.value,
            finished_at=now,
            result_json=json.dumps(result, sort_keys=True) if result is not None else None,
            error=error,
        )
        .execution_options(synchronize_session=False)
    )


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
