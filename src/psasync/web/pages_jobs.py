"""The pages of background jobs: the dashboard's bulk sync buttons submit one, the jobs page
lists them with their progress and failures, and a job's page follows it (htmx polls it every
2 s while it is queued or running) and then shows what happened to each task."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from psasync.services import bulk_jobs
from psasync.services import jobs as job_service
from psasync.services.bulk_jobs import BulkSyncRequest, JobKind, JobStatus, TaskSelection
from psasync.services.errors import ServiceError
from psasync.services.jobs import JobView
from psasync.services.sessions import UserSession
from psasync.services.types import OrderType, PriceSource, TaskStatus
from psasync.web.bounds import MAX_ID, MAX_OFFSET
from psasync.web.errors import status_of
from psasync.web.pages import DASHBOARD, PageUser, connectwise_tile, render_dashboard
from psasync.web.session import clean_query, services_of
from psasync.web.templating import render, see_other, with_query

router = APIRouter(include_in_schema=False, dependencies=[Depends(clean_query)])
JobId = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
JOBS = DASHBOARD + "/jobs"
JOBS_PER_PAGE = 25
# The longest search text the dashboard's filter sends on (as the task list's).
MAX_QUERY = 200
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
KIND_LABELS = {
    JobKind.SYNC_BULK: "Bulk sync",
    JobKind.AUTOMATION: "Automation run",
    JobKind.RECONCILE: "Reconciliation",
    JobKind.RECONCILE_FIX: "Reconciliation fix",
}
STATUS_LABELS = {
    JobStatus.QUEUED: "Queued",
    JobStatus.RUNNING: "Running",
    JobStatus.SUCCEEDED: "Finished",
    JobStatus.FAILED: "Failed",
    JobStatus.CANCELLED: "Cancelled",
}
RESULT_LABELS = {"synced": "Synced", "skipped": "Skipped", "failed": "Failed"}


@router.post(DASHBOARD + "/sync-bulk")
async def submit_bulk_sync(request: Request, user: PageUser) -> Response:
    """ "Sync selected" (the ticked tasks) or "Sync all that can be synced" (every task the
    dashboard's filter finds, new ones unless it shows failed ones); then the job's page."""
    form = await request.form()
    filters = {
        "status": _text(form.get("status")),
        "type": _text(form.get("type")),
        "q": _text(form.get("q"))[:MAX_QUERY].strip(),
    }
    price = _text(form.get("price_source"))
    price_source = PriceSource(price) if price in set(PriceSource) else PriceSource.MARKETPLACE
    if _text(form.get("scope")) == "all":
        status, order_type = filters["status"], filters["type"]
        chosen = BulkSyncRequest(
            selection=TaskSelection(
                status=TaskStatus(status) if status in bulk_jobs.SYNCABLE else None,
                order_type=OrderType(order_type) if order_type in set(OrderType) else None,
                query=filters["q"] or None,
            ),
            price_source=price_source,
        )
    else:
        ids = [_task_id(value) for value in form.getlist("task_id")]
        if not ids or None in ids:
            return await _refused(
                request, user, filters, "Tick the tasks to sync first, then Sync selected.", 422
            )
        chosen = BulkSyncRequest(
            task_ids=tuple(i for i in ids if i is not None), price_source=price_source
        )
    try:
        job = await bulk_jobs.submit_bulk_sync(services_of(request), user.actor, chosen)
    except ServiceError as error:
        return await _refused(request, user, filters, error.message, status_of(error))
    return see_other(f"{JOBS}/{job.id}", request)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _task_id(value: Any) -> int | None:
    text = _text(value)
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID:
        return int(text)
    return None


async def _refused(
    request: Request, user: UserSession, filters: dict[str, str], message: str, status: int
) -> Response:
    """The dashboard again, as it was, with why the bulk sync did not start."""
    tile = await connectwise_tile(request, user)
    return await render_dashboard(
        request,
        user,
        tile,
        status=filters["status"] if filters["status"] in set(TaskStatus) else None,
        order_type=filters["type"] if filters["type"] in set(OrderType) else None,
        query=filters["q"] or None,
        offset=0,
        bulk_error=message,
        http_status=status,
    )


def _context(job: JobView) -> dict[str, Any]:
    return {
        "job": job,
        "active": job.status in ACTIVE,
        "kind_label": KIND_LABELS.get(job.kind, job.kind.value),
        "status_label": STATUS_LABELS[job.status],
        "failures": [
            task for task in (job.result or {}).get("tasks", []) if task.get("result") == "failed"
        ],
    }


@router.get(JOBS)
async def jobs_page(request: Request, user: PageUser, offset: Offset = 0) -> Response:
    page = await job_service.list_jobs(
        services_of(request), user.actor, limit=JOBS_PER_PAGE, offset=offset
    )
    jobs = [_context(job) for job in page.items]
    return render(
        request,
        "jobs.html",
        {
            "jobs": jobs,
            "total": page.total,
            "offset": offset,
            "per_page": JOBS_PER_PAGE,
            "any_active": any(item["active"] for item in jobs),
            "result_labels": RESULT_LABELS,
            "page_url": lambda new_offset: with_query(JOBS, offset=new_offset),
        },
    )


@router.get(JOBS + "/{job_id}")
async def job_page(job_id: JobId, request: Request, user: PageUser) -> Response:
    job = await job_service.get_job(services_of(request), user.actor, job_id)
    return render(
        request, "job.html", {**_context(job), "result_labels": RESULT_LABELS, "jobs_url": JOBS}
    )
