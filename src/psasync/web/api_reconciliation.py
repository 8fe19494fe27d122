"""REST API of reconciliation (DESIGN §4, §9): run one as a job, read the latest report (JSON or
CSV), fix items as a job. Thin, like :mod:`psasync.web.api`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from psasync.services import reconciliation, reconciliation_fix
from psasync.web.api import ERRORS
from psasync.web.schemas_jobs import JobSubmittedOut
from psasync.web.schemas_reconciliation import FixItemsRequest, ReconcileRequest, ReportOut
from psasync.web.session import CurrentUser, ServicesDep, clean_query

router = APIRouter(
    prefix="/api/v1/connectwise", responses=ERRORS, dependencies=[Depends(clean_query)]
)
Filter = Annotated[str | None, Query(max_length=64)]


@router.post(
    "/reconciliation", status_code=202, response_model=JobSubmittedOut, tags=["reconciliation"]
)
async def reconcile(
    body: ReconcileRequest, user: CurrentUser, services: ServicesDep
) -> JobSubmittedOut:
    """Queue a reconciliation of every customer (or those named); the report is stored."""
    job = await reconciliation.start_reconciliation(services, user.actor, body.request())
    return JobSubmittedOut.of(job)


@router.get("/reconciliation", response_model=ReportOut, tags=["reconciliation"])
async def latest(
    user: CurrentUser,
    services: ServicesDep,
    response: Response,
    customer_id: Annotated[str | None, Query(alias="customerId", max_length=64)] = None,
    kind: Filter = None,
) -> ReportOut:
    """The latest report: totals by kind and by customer, and its items (amounts as strings)."""
    report = await reconciliation.latest_report(
        services, user.actor, customer_id=customer_id or None, kind=kind or None
    )
    response.headers["Cache-Control"] = "no-store"
    return ReportOut.of(report)


@router.get("/reconciliation.csv", tags=["reconciliation"])
async def latest_csv(
    user: CurrentUser,
    services: ServicesDep,
    customer_id: Annotated[str | None, Query(alias="customerId", max_length=64)] = None,
    kind: Filter = None,
) -> Response:
    """The latest report's items as CSV, with a header row."""
    text = await reconciliation.report_csv(
        services, user.actor, customer_id=customer_id or None, kind=kind or None
    )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="reconciliation.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/reconciliation/fix",
    status_code=202,
    response_model=JobSubmittedOut,
    tags=["reconciliation"],
)
async def fix(body: FixItemsRequest, user: CurrentUser, services: ServicesDep) -> JobSubmittedOut:
    """Queue fixes of items of the latest report, applied like a sync (journalled, fenced,
    verified), effective from the next period start unless `effective` is `currentPeriod`."""
    job = await reconciliation_fix.start_fix(services, user.actor, body.request())
    return JobSubmittedOut.of(job)
