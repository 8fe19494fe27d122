"""The JSON of background jobs and of bulk sync (DESIGN §4 ``sync-bulk`` and ``jobs``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from psasync.services.bulk_jobs import MAX_NAMED, BulkSyncRequest, TaskSelection
from psasync.services.jobs import JobPage, JobView
from psasync.services.types import OrderType, PriceSource, TaskStatus
from psasync.web.bounds import MAX_ID, CleanText
from psasync.web.schemas import Schema

# An agreement id as JSON writes it (a number: "5" or true is not one).
StrictId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


class TaskFilterRequest(Schema):
    """Like the task list's filter; ``status`` is new (the default) or failed."""

    status: Literal["new", "failed"] | None = None
    order_type: OrderType | None = None
    q: Annotated[CleanText, Field(max_length=200)] | None = None


class SyncBulkRequest(Schema):
    """``taskIds`` or ``filter`` (exactly one); ``agreement``: "auto" (each task's one
    eligible agreement) or an agreement id; ``priceSource`` as for a single sync."""

    task_ids: Annotated[list[StrictId], Field(min_length=1, max_length=MAX_NAMED)] | None = None
    filter: TaskFilterRequest | None = None
    agreement: Literal["auto"] | StrictId = "auto"
    price_source: PriceSource = PriceSource.MARKETPLACE

    @model_validator(mode="after")
    def _one_selection(self) -> SyncBulkRequest:
        if (self.task_ids is None) == (self.filter is None):
            raise ValueError("give taskIds or filter (exactly one of them)")
        return self

    def request(self) -> BulkSyncRequest:
        chosen = self.filter
        return BulkSyncRequest(
            task_ids=tuple(self.task_ids) if self.task_ids is not None else None,
            selection=None
            if chosen is None
            else TaskSelection(
                status=TaskStatus(chosen.status) if chosen.status else None,
                order_type=chosen.order_type,
                query=chosen.q,
            ),
            agreement_id=None if self.agreement == "auto" else int(self.agreement),
            price_source=self.price_source,
        )


class ProgressOut(Schema):
    done: int
    total: int | None


class JobOut(Schema):
    """One background job. ``result`` depends on the kind (a sync_bulk job: docs/api.md); it is
    what the job's runner recorded, shown as it was stored."""

    id: int
    kind: str
    status: str
    actor: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    progress: ProgressOut
    result: dict[str, Any] | None
    error: str | None

    @classmethod
    def of(cls, job: JobView) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind.value,
            status=job.status.value,
            actor=job.actor,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            progress=ProgressOut(done=job.progress_done, total=job.progress_total),
            result=job.result,
            error=job.error,
        )


class JobPageOut(Schema):
    items: list[JobOut]
    total: int

    @classmethod
    def of(cls, page: JobPage) -> JobPageOut:
        return cls(items=[JobOut.of(job) for job in page.items], total=page.total)


class JobSubmittedOut(Schema):
    """A job just queued (bulk sync, reconciliation, an unattended run now)."""

    job: JobOut

    @classmethod
    def of(cls, job: JobView) -> JobSubmittedOut:
        return cls(job=JobOut.of(job))
