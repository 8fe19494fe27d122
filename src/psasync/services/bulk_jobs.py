"""Bulk sync as a background job (DESIGN §4 ``sync-bulk``, §8): submitted from the dashboard,
the API or ``psasync sync --queue``, run by a worker, visible with its progress on the jobs page.

The tasks are chosen when the job is submitted — named, or found by a filter — and stored
with the job, oldest order first. Each task is a part of the job of its own (under its
customer's lock: two orders of one subscription apply in the order they were placed), so every
worker takes some; each runs as the person who submitted the job (history shows that name),
reading the Cloud Marketplace as the tenant's integration user: psasync never keeps a
person's password for work done later.

A job run again after its worker died converges: a task the first attempt synced is reported
synced ("already synced"), a task whose sync was cut short resumes from its journal on the
agreement it started with, and the others are synced as usual. Nothing is written twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psasync.services import automation, integrations, unattended
from psasync.services import jobs as job_service
from psasync.services import tasks as task_service
from psasync.services.actor import AUTOMATION, Actor
from psasync.services.bulk_sync import (
    BulkSyncOptions,
    Result,
    TaskRun,
    bulk_sync,
)
from psasync.services.context import Services
from psasync.services.errors import Invalid
from psasync.services.jobs import FanOut, JobView, Progress, runs, runs_parts
from psasync.services.tasks import TaskView
from psasync.services.types import OrderType, PriceSource, TaskStatus

# The web layer names jobs' kinds and states through the services (never the store).
from psasync.store import JobKind as JobKind
from psasync.store import JobStatus as JobStatus

# Tasks one request may name, and tasks one job may hold (a filter matching more is refused).
MAX_NAMED = 500
MAX_TASKS = 10_000
# Statuses a filter may ask for: a synced or ignored task cannot be synced.
SYNCABLE = (TaskStatus.NEW, TaskStatus.FAILED)


@dataclass(frozen=True)
class TaskSelection:
    """A filter as the task list takes it: status (new by default; new or failed), order
    type, and text searched in the customer's name or id and the order number."""

    status: TaskStatus | None = None
    order_type: OrderType | None = None
    query: str | None = None

    def json(self) -> dict[str, Any]:
        return {
            "status": (self.status or TaskStatus.NEW).value,
            "orderType": self.order_type.value if self.order_type else None,
            "q": self.query or None,
        }


@dataclass(frozen=True)
class BulkSyncRequest:
    """Which tasks (named, or a filter), to which agreement (None: each task's one eligible
    agreement, "auto"), priced from where."""

    task_ids: tuple[int, ...] | None = None
    selection: TaskSelection | None = None
    agreement_id: int | None = None
    price_source: PriceSource = PriceSource.MARKETPLACE


def lock_of(tenant_id: int) -> str:
    """One bulk sync runs at a time per tenant; the next waits and then finds the tasks the
    first one synced already synced."""
    return f"sync-bulk:{tenant_id}"


async def submit_bulk_sync(services: Services, actor: Actor, request: BulkSyncRequest) -> JobView:
    """Check the request, choose its tasks and queue the job; nothing is queued if it is refused.

    Refused (:class:`Invalid`, 422) without a job queue, without ConnectWise, without the
    integration user, with both or neither of tasks and filter, or with no task to sync;
    a named task that is not the tenant's is :class:`NotFound` (404).
    """
    job_service.queue_of(services)
    if (request.task_ids is None) == (request.selection is None):
        raise Invalid("Name the tasks (taskIds) or give a filter, not both.", code="BadSelection")
    await integrations.psa_for(services, actor.tenant_id)
    settings = await automation.automation_settings(services, actor)
    if settings.marketplace_user is None:
        raise Invalid(
            "Bulk sync runs in the background and reads the Cloud Marketplace as the "
            "integration user, because psasync never keeps your password: set one on the "
            "automation page first.",
            code="NoIntegrationUser",
        )
    if request.task_ids is not None:
        tasks = await _named(services, actor, request.task_ids)
    else:
        tasks = await _matching(services, actor, request.selection or TaskSelection())
    if not tasks:
        raise Invalid("No task to sync: none matches.", code="NothingToSync")
    tasks.sort(key=lambda task: (task.created_at, task.id))
    params: dict[str, Any] = {
        "taskIds": [task.id for task in tasks],
        "filter": request.selection.json() if request.selection else None,
        "agreement": request.agreement_id if request.agreement_id is not None else "auto",
        "priceSource": request.price_source.value,
    }
    return await job_service.submit(
        services, actor, JobKind.SYNC_BULK, params, lock=lock_of(actor.tenant_id)
    )


async def _named(services: Services, actor: Actor, task_ids: tuple[int, ...]) -> list[TaskView]:
    named = tuple(dict.fromkeys(task_ids))
    if len(named) > MAX_NAMED:
        raise Invalid(
            f"Name at most {MAX_NAMED} tasks, not {len(named)}; use a filter for more.",
            code="TooManyTasks",
        )
    # Another tenant's task is as absent as none (404 TaskNotFound), and nothing is queued.
    return [await task_service.get_task(services, actor, task_id) for task_id in named]


async def _matching(services: Services, actor: Actor, selection: TaskSelection) -> list[TaskView]:
    status = selection.status or TaskStatus.NEW
    if status not in SYNCABLE:
        raise Invalid(
            f"Only new or failed tasks can be synced, not {status.value} ones.",
            code="StatusNotSyncable",
        )
    found: list[TaskView] = []
    while True:
        wanted = task_service.task_filter(
            status=status.value,
            order_type=selection.order_type.value if selection.order_type else None,
            query=selection.query,
            limit=task_service.MAX_PAGE,
            offset=len(found),
        )
        page = await task_service.list_tasks(services, actor, wanted)
        if page.total > MAX_TASKS:
            raise Invalid(
                f"{page.total} tasks match; one bulk sync takes at most {MAX_TASKS}. "
                "Narrow the filter.",
                code="TooManyTasks",
            )
        found.extend(page.items)
        if not page.items or len(found) >= page.total:
            return found


@dataclass(frozen=True)
class BulkSyncParams:
    """A sync-bulk job's parameters as stored with it."""

    task_ids: tuple[int, ...]
    agreement_id: int | None
    price_source: PriceSource

    @classmethod
    def of(cls, params: dict[str, Any]) -> BulkSyncParams:
        agreement = params.get("agreement", "auto")
        return cls(
            task_ids=tuple(int(task_id) for task_id in params.get("taskIds") or ()),
            agreement_id=None if agreement == "auto" else int(agreement),
            price_source=PriceSource(params.get("priceSource", PriceSource.MARKETPLACE.value)),
        )


@runs(JobKind.SYNC_BULK)
async def run_bulk_sync_job(
    services: Services, job: JobView, progress: Progress
) -> dict[str, Any] | FanOut:
    """The worker's side: one part per task (DESIGN §8: ``sync_task`` jobs, one lock per task),
    so every worker takes some; :func:`finish_bulk_sync` gathers their outcomes."""
    del progress  # the parts report it
    params = BulkSyncParams.of(job.params)
    # Never "every new task": the job names its tasks. Connected first, or no task runs.
    if params.task_ids:
        await integrations.psa_for(services, job.tenant_id)
    tasks = await _stored(services, job.tenant_id, params.task_ids)
    return unattended.settling(job.tenant_id, tasks, interim={})


async def _stored(services: Services, tenant_id: int, task_ids: Sequence[int]) -> list[TaskView]:
    """The job's tasks, in the order it names them; one deleted since is left out."""
    actor = Actor(tenant_id=tenant_id, name=AUTOMATION)
    return await task_service.get_tasks(services, actor, task_ids)


async def finish_bulk_sync(
    services: Services, job: JobView, interim: dict[str, Any], parts: list[dict[str, Any]]
) -> dict[str, Any]:
    """A sync-bulk job's result from its tasks' outcomes (docs/api.md)."""
    del services, interim
    named = {str(task_id) for task_id in BulkSyncParams.of(job.params).task_ids}
    runs = [part for part in parts if str(part["taskId"]) in named]
    return {
        "total": len(runs),
        "synced": sum(run["result"] == Result.SYNCED.value for run in runs),
        "skipped": sum(run["result"] == Result.SKIPPED.value for run in runs),
        "failed": sum(run["result"] == Result.FAILED.value for run in runs),
        "tasks": runs,
    }


@runs_parts(JobKind.SYNC_BULK, finish=finish_bulk_sync)
async def sync_task_part(services: Services, job: JobView, key: str) -> dict[str, Any]:
    """One task of a bulk sync, as the person who asked for it, reading the marketplace as
    the tenant's integration user."""
    params = BulkSyncParams.of(job.params)
    unattended_actor = await automation.automation_actor(services, job.tenant_id)
    actor = Actor(tenant_id=job.tenant_id, name=job.actor, marketplace=unattended_actor.marketplace)
    options = BulkSyncOptions(
        task_ids=(int(key),),
        agreement_id=params.agreement_id,
        price_source=params.price_source,
        converge=True,
    )
    result = await bulk_sync(services, actor, options)
    return _run_json(result.runs[0])


def _run_json(run: TaskRun) -> dict[str, Any]:
    task = run.task
    return {
        "taskId": run.task_id,
        "title": task.title if task else None,
        "orderNumber": task.order_number if task else None,
        "customer": task.customer_name if task else None,
        "result": run.result.value,
        "agreementId": run.agreement_id,
        "agreementName": run.outcome.agreement_name if run.outcome else None,
        "runId": run.outcome.run_id if run.outcome else None,
        "message": run.message,
        "code": run.code,
    }
