"""REST API of background jobs (DESIGN §4): bulk sync submitted as a job, and the jobs with
their progress and results. Thin, like :mod:`psasync.web.api`."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Response

from psasync.services import bulk_jobs
from psasync.services import jobs as job_service
from psasync.services.bulk_jobs import JobKind, JobStatus
from psasync.services.errors import BadRequest
from psasync.web import schemas_jobs
from psasync.web.api import ERRORS
from psasync.web.bounds import MAX_ID, MAX_LIMIT, MAX_OFFSET
from psasync.web.session import CurrentUser, ServicesDep, clean_query

router = APIRouter(prefix="/api/v1", responses=ERRORS, dependencies=[Depends(clean_query)])
JobId = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Choice = Annotated[str | None, Query(max_length=200)]
Member = TypeVar("Member", JobKind, JobStatus)


@router.post(
    "/connectwise/tasks/sync-bulk",
    status_code=202,
    response_model=schemas_jobs.JobSubmittedOut,
    tags=["sync"],
)
async def sync_bulk(
    body: schemas_jobs.SyncBulkRequest, user: CurrentUser, services: ServicesDep
) -> schemas_jobs.JobSubmittedOut:
    """Queue a bulk sync of the named tasks, or of the tasks a filter finds (new ones by
    default), oldest order first; follow it at `GET /api/v1/jobs/{id}`."""
    job = await bulk_jobs.submit_bulk_sync(services, user.actor, body.request())
    return schemas_jobs.JobSubmittedOut.of(job)


@router.get("/jobs", response_model=schemas_jobs.JobPageOut, tags=["jobs"])
async def list_jobs(
    user: CurrentUser,
    services: ServicesDep,
    kind: Choice = None,
    status: Choice = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> schemas_jobs.JobPageOut:
    """The reseller's background jobs, newest first."""
    page = await job_service.list_jobs(
        services,
        user.actor,
        kind=_member(JobKind, "kind", kind),
        status=_member(JobStatus, "status", status),
        limit=limit,
        offset=offset,
    )
    return schemas_jobs.JobPageOut.of(page)


@router.get("/jobs/{job_id}", response_model=schemas_jobs.JobOut, tags=["jobs"])
async def get_job(
    job_id: JobId, user: CurrentUser, services: ServicesDep, response: Response
) -> schemas_jobs.JobOut:
    """One job: its state, progress (`done` of `total`), result or the reason it failed."""
    job = await job_service.get_job(services, user.actor, job_id)
    response.headers["Cache-Control"] = "no-store"
    return schemas_jobs.JobOut.of(job)


def _member(enum: type[Member], name: str, value: str | None) -> Member | None:
    """An enumeration's member named in a query (empty: none); anything else a clear 400,
    as the task list answers an unknown status."""
    if not value:
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise BadRequest(
            f"{name} must be one of {allowed}, not {value!r}", code="InvalidFilter"
        ) from None
