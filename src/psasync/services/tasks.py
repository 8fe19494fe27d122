"""The task list: what Check Changes found, filtered and paged, and ignoring tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.domain.orders import Order, OrderType, task_title
from psasync.domain.plan import PriceSource
from psasync.services.actor import Actor
from psasync.services.context import Services
from psasync.services.errors import BadRequest, Conflict, NotFound
from psasync.store import CustomerMapping, SyncTask, TaskStatus, snapshots
from psasync.store import TaskFilter as TaskFilter  # list_tasks takes one: part of this API
from psasync.store import tasks as store

MAX_PAGE = 500


@dataclass(frozen=True)
class TaskView:
    """A task as the API and pages show it."""

    id: int
    order_id: str
    order_number: str
    order_type: OrderType
    customer_id: str
    customer_name: str
    subscription_id: str | None
    status: TaskStatus
    created_at: dt.datetime
    error: str | None
    agreement_id: int | None
    synced_at: dt.datetime | None
    # While a sync run holds the task: until when its claim lasts without a heartbeat. A run
    # that crashed leaves it in place; once it has passed, Sync may be tried again.
    busy_until: dt.datetime | None = None
    # Why an unattended run left the task for a person ("2 agreements eligible"), while the
    # task still waits (new, or failed).
    waiting_reason: str | None = None

    @property
    def title(self) -> str:
        """ "Green Lane LLC 1000048531 — Change Order"."""
        return task_title(
            customer_name=self.customer_name,
            customer_id=self.customer_id,
            order_type=self.order_type,
        )

    @classmethod
    def of(cls, task: SyncTask | Row[Any]) -> TaskView:
        """From the task's ORM object or its table row (as an UPDATE … RETURNING gives it)."""
        return cls(
            id=task.id,
            order_id=task.order_id,
            order_number=task.order_number,
            order_type=OrderType(task.order_type),
            customer_id=task.customer_id,
            customer_name=task.customer_name,
            subscription_id=task.subscription_id,
            status=TaskStatus(task.status),
            created_at=task.order_created_at,
            error=task.error,
            agreement_id=task.agreement_id,
            synced_at=task.synced_at,
            busy_until=task.claimed_until if task.claim_token is not None else None,
            waiting_reason=task.waiting_reason
            if task.status in (TaskStatus.NEW.value, TaskStatus.FAILED.value)
            else None,
        )


@dataclass(frozen=True)
class TaskPage:
    items: list[TaskView]
    total: int


def task_filter(
    *,
    status: str | None = None,
    order_type: str | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> TaskFilter:
    """A filter from request values; a value that is not one of the known ones is refused."""
    if status and status not in {s.value for s in TaskStatus}:
        allowed = ", ".join(s.value for s in TaskStatus)
        raise BadRequest(f"status must be one of {allowed}, not {status!r}", code="InvalidFilter")
    if order_type and order_type not in {t.value for t in OrderType}:
        allowed = ", ".join(t.value for t in OrderType)
        raise BadRequest(
            f"orderType must be one of {allowed}, not {order_type!r}", code="InvalidFilter"
        )
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be 1 to {MAX_PAGE}, not {limit}", code="InvalidFilter")
    if offset < 0:
        raise BadRequest(f"offset must not be negative, not {offset}", code="InvalidFilter")
    return TaskFilter(
        status=TaskStatus(status) if status else None,
        order_type=order_type or None,
        query=(query or "").strip() or None,
        limit=limit,
        offset=offset,
    )


async def list_tasks(services: Services, actor: Actor, wanted: TaskFilter) -> TaskPage:
    # A search may read every task of the tenant: a read that scans, in no writer's turn.
    async with services.db.read(scans=True) as session:
        items, total = await store.list_tasks(session, actor.tenant_id, wanted)
    return TaskPage(items=[TaskView.of(task) for task in items], total=total)


async def get_task(services: Services, actor: Actor, task_id: int) -> TaskView:
    async with services.db.session() as session:
        return TaskView.of(await load_task(session, actor.tenant_id, task_id))


@dataclass(frozen=True)
class TaskDetail:
    """A task with the marketplace order it was made from."""

    view: TaskView
    order: Order


async def get_tasks(services: Services, actor: Actor, task_ids: Sequence[int]) -> list[TaskView]:
    """The actor's tenant's tasks among ``task_ids``, in that order; others are left out."""
    wanted = list(dict.fromkeys(task_ids))
    async with services.db.session() as session:
        found = await store.get_tasks(session, actor.tenant_id, wanted)
        return [TaskView.of(found[task_id]) for task_id in wanted if task_id in found]


async def get_task_detail(services: Services, actor: Actor, task_id: int) -> TaskDetail:
    async with services.db.session() as session:
        task = await load_task(session, actor.tenant_id, task_id)
        return TaskDetail(view=TaskView.of(task), order=snapshots.order_from_json(task.order_json))


async def load_task(session: AsyncSession, tenant_id: int, task_id: int) -> SyncTask:
    """The tenant's task; another tenant's is as absent as one that never existed."""
    task = await store.get_task(session, tenant_id, task_id)
    if task is None:
        raise _no_task(task_id)
    return task


async def load_task_with_mapping(
    session: AsyncSession, tenant_id: int, task_id: int
) -> tuple[SyncTask, CustomerMapping | None]:
    """The tenant's task (as :func:`load_task`) and its customer's mapping, None if unmapped."""
    found = await store.get_task_with_mapping(session, tenant_id, task_id)
    if found is None:
        raise _no_task(task_id)
    return found


def _no_task(task_id: int) -> NotFound:
    return NotFound(f"there is no task {task_id}", code="TaskNotFound")


async def ignore_task(services: Services, actor: Actor, task_id: int) -> TaskView:
    """Hide a task the reseller will not sync; a synced or syncing task cannot be ignored."""
    async with services.db.session() as session:
        task = await load_task(session, actor.tenant_id, task_id)
        if task.status == TaskStatus.SYNCED.value:
            raise Conflict(f"task {task_id} is already synced", code="TaskSynced")
        if task.claimed_until is not None and task.claimed_until > services.now():
            raise Conflict(f"task {task_id} is being synced right now", code="TaskBusy")
        await store.set_ignored(session, task, ignored=True, now=services.now())
        return TaskView.of(task)


async def unignore_task(services: Services, actor: Actor, task_id: int) -> TaskView:
    async with services.db.session() as session:
        task = await load_task(session, actor.tenant_id, task_id)
        if task.status != TaskStatus.IGNORED.value:
            raise Conflict(f"task {task_id} is not ignored", code="TaskNotIgnored")
        await store.set_ignored(session, task, ignored=False, now=services.now())
        return TaskView.of(task)


async def mark_done(
    services: Services, actor: Actor, task_id: int, *, agreement_id: int
) -> TaskView:
    """Close a task whose plan for ``agreement_id`` has nothing to change (a Renewal that needs
    no new addition): it reads as synced, with nothing written and no sync run.

    The plan is made again here, so a task with anything to write is refused (``Conflict``
    ``PlanNotEmpty``); a synced or busy task is refused as :func:`ignore_task` refuses it.
    """
    from psasync.services import planning  # planning builds on this module

    plan = await planning.preview(
        services, actor, task_id, agreement_id=agreement_id, price_source=PriceSource.MARKETPLACE
    )
    if plan.actions:
        raise Conflict(
            f"task {task_id} has {len(plan.actions)} changes to make: sync it instead",
            code="PlanNotEmpty",
        )
    async with services.db.session() as session:
        task = await load_task(session, actor.tenant_id, task_id)
        if task.status == TaskStatus.SYNCED.value:
            raise Conflict(f"task {task_id} is already synced", code="TaskSynced")
        if task.claimed_until is not None and task.claimed_until > services.now():
            raise Conflict(f"task {task_id} is being synced right now", code="TaskBusy")
        now = services.now()
        task.status = TaskStatus.SYNCED.value
        task.synced_at = now
        task.agreement_id = agreement_id
        task.error = None
        task.waiting_reason = None
        task.updated_at = now
        await session.flush()
        return TaskView.of(task)
