"""Synchronization tasks: one per marketplace order, unique per tenant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.store.models import SyncTask, TaskStatus
from psasync.store.tenants import _chunks


@dataclass(frozen=True)
class TaskFilter:
    """What the task list shows: ``query`` matches customer name or id, or order number."""

    status: TaskStatus | None = None
    order_type: str | None = None
    query: str | None = None
    limit: int = 50
    offset: int = 0


async def existing_order_ids(
    session: AsyncSession, tenant_id: int, order_ids: Iterable[str]
) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(order_ids))):
        rows = await session.scalars(
            select(SyncTask.order_id).where(
                SyncTask.tenant_id == tenant_id, SyncTask.order_id.in_(chunk)
            )
        )
        found.update(rows)
    return found


async def add_tasks(session: AsyncSession, tasks: Sequence[SyncTask]) -> list[SyncTask]:
    """Insert the tasks in one batch and return them as stored, in the order given.

    One executemany, then the rows read back by order id: the ORM would insert row by row on
    SQLite to learn each new id, which makes a large Check Changes slow.
    """
    if not tasks:
        return []
    columns = [column for column in SyncTask.__table__.columns if column.key != "id"]
    rows = [{column.key: _value(task, column) for column in columns} for task in tasks]
    await session.execute(insert(SyncTask), rows)
    tenant_ids = {task.tenant_id for task in tasks}
    stored: dict[tuple[int, str], SyncTask] = {}
    for tenant_id in tenant_ids:
        order_ids = sorted(task.order_id for task in tasks if task.tenant_id == tenant_id)
        for chunk in _chunks(order_ids):
            found = await session.scalars(
                select(SyncTask).where(
                    SyncTask.tenant_id == tenant_id, SyncTask.order_id.in_(chunk)
                )
            )
            stored.update({(task.tenant_id, task.order_id): task for task in found})
    return [stored[(task.tenant_id, task.order_id)] for task in tasks]


def _value(task: SyncTask, column: Any) -> Any:
    value = getattr(task, column.key)
    if value is None and column.default is not None and column.default.is_scalar:
        return column.default.arg
    return value


async def get_task(session: AsyncSession, tenant_id: int, task_id: int) -> SyncTask | None:
    """The tenant's task, None for a task that does not exist or is another tenant's."""
    found = await session.scalars(
        select(SyncTask).where(SyncTask.tenant_id == tenant_id, SyncTask.id == task_id)
    )
    return found.first()


async def list_tasks(
    session: AsyncSession, tenant_id: int, wanted: TaskFilter
) -> tuple[list[SyncTask], int]:
    """One page of the tenant's tasks, newest order first, and how many match in all."""
    conditions = [SyncTask.tenant_id == tenant_id]
    if wanted.status is not None:
        conditions.append(SyncTask.status == wanted.status.value)
    if wanted.order_type is not None:
        conditions.append(SyncTask.order_type == wanted.order_type)
    if wanted.query:
        pattern = f"%{_escape_like(wanted.query.strip().lower())}%"
        conditions.append(
            or_(
                func.lower(SyncTask.customer_name).like(pattern, escape="\\"),
                func.lower(SyncTask.customer_id).like(pattern, escape="\\"),
                func.lower(SyncTask.order_number).like(pattern, escape="\\"),
            )
        )
    where = and_(*conditions)
    total = await session.scalar(select(func.count()).select_from(SyncTask).where(where))
    page = await session.scalars(
        select(SyncTask)
        .where(where)
        .order_by(SyncTask.order_created_at.desc(), SyncTask.id.desc())
        .limit(wanted.limit)
        .offset(wanted.offset)
    )
    return list(page), total or 0


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def claim_task(
    session: AsyncSession,
    tenant_id: int,
    task_id: int,
    *,
    token: str,
    now: dt.datetime,
    until: dt.datetime,
) -> bool:
    """Take the task for one sync run under ``token``: only a new or failed task whose last
    claim (if any) has lapsed. Atomic: of two runs racing for it, exactly one wins."""
    result = await session.execute(
        update(SyncTask)
        .where(
            SyncTask.tenant_id == tenant_id,
            SyncTask.id == task_id,
            SyncTask.status.in_([TaskStatus.NEW.value, TaskStatus.FAILED.value]),
            or_(SyncTask.claimed_until.is_(None), SyncTask.claimed_until < now),
        )
        .values(claim_token=token, claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def renew_claim(
    session: AsyncSession, tenant_id: int, task_id: int, *, token: str, until: dt.datetime
) -> bool:
    """Extend the claim ``token`` holds to ``until``; False when another run owns the task now.

    Every journal write of a run goes through this in its own transaction, so a run that lost
    its task can change nothing (on PostgreSQL the row lock also orders it against a claimer).
    """
    result = await session.execute(
        update(SyncTask)
        .where(
            SyncTask.tenant_id == tenant_id,
            SyncTask.id == task_id,
            SyncTask.claim_token == token,
        )
        .values(claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release_task(
    session: AsyncSession,
    tenant_id: int,
    task_id: int,
    *,
    token: str,
    status: TaskStatus,
    error: str | None,
    now: dt.datetime,
    agreement_id: int | None = None,
) -> bool:
    """End the claim ``token`` holds, leaving the task synced or failed; False if it was lost."""
    values: dict[str, object] = {
        "claim_token": None,
        "claimed_until": None,
        "status": status.value,
        "error": error,
        "updated_at": now,
    }
    if status is TaskStatus.SYNCED:
        values.update(synced_at=now, agreement_id=agreement_id)
    result = await session.execute(
        update(SyncTask)
        .where(
            SyncTask.tenant_id == tenant_id,
            SyncTask.id == task_id,
            SyncTask.claim_token == token,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def unclaim_task(session: AsyncSession, tenant_id: int, task_id: int, *, token: str) -> None:
    """Let go of a claim that wrote nothing: the task's status stays as it was."""
    await session.execute(
        update(SyncTask)
        .where(
            SyncTask.tenant_id == tenant_id,
            SyncTask.id == task_id,
            SyncTask.claim_token == token,
        )
        .values(claim_token=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


async def set_ignored(
    session: AsyncSession, task: SyncTask, *, ignored: bool, now: dt.datetime
) -> None:
    task.status = (TaskStatus.IGNORED if ignored else TaskStatus.NEW).value
    task.updated_at = now
    await session.flush()
