"""Rows with believable defaults for the store tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.store import (
    ActionOutcome,
    Database,
    RunOutcome,
    SyncAction,
    SyncRun,
    SyncTask,
    TaskStatus,
    Tenant,
)
from psasync.store.tenants import upsert_tenant

NOW = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    """``NOW`` moved by some minutes."""
    return NOW + dt.timedelta(minutes=minutes)


async def add_tenant(
    database: Database, reseller_id: str = "1000001", *, marketplace: str = "us"
) -> int:
    async with database.session() as session:
        tenant = await upsert_tenant(
            session,
            marketplace=marketplace,
            reseller_id=reseller_id,
            name=f"Reseller {reseller_id}",
            currency="USD",
            now=NOW,
        )
        return tenant.id


def task_row(
    tenant_id: int,
    order_id: str = "ORD-1",
    *,
    number: str | None = None,
    order_type: str = "sales",
    customer_id: str = "1000048531",
    customer_name: str = "Green Lane LLC",
    status: TaskStatus = TaskStatus.NEW,
    created: dt.datetime = NOW,
) -> SyncTask:
    return SyncTask(
        tenant_id=tenant_id,
        order_id=order_id,
        order_number=number or f"SO-{order_id}",
        order_type=order_type,
        customer_id=customer_id,
        customer_name=customer_name,
        subscription_id="SUB-1",
        status=status.value,
        order_created_at=created,
        order_json="{}",
        created_at=NOW,
        updated_at=NOW,
    )


async def add_tasks(database: Database, *rows: SyncTask) -> list[int]:
    """Store the tasks in one transaction; their ids, in order."""
    async with database.session() as session:
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


def run_row(
    tenant_id: int,
    task_id: int,
    *,
    started: dt.datetime = NOW,
    outcome: RunOutcome = RunOutcome.RUNNING,
    user: str = "anna@northwind.example",
) -> SyncRun:
    return SyncRun(
        tenant_id=tenant_id,
        task_id=task_id,
        agreement_id=501,
        agreement_name="Green Lane Managed 365",
        price_source="marketplace",
        user=user,
        started_at=started,
        outcome=outcome.value,
        currency="USD",
        prorated_amount=Decimal("100.00"),
        recurring_before=Decimal("150.00"),
        recurring_after=Decimal("210.00"),
        plan_json='{"actions":[]}',
    )


def action_row(position: int, *, outcome: ActionOutcome = ActionOutcome.PENDING) -> SyncAction:
    return SyncAction(
        position=position,
        key=f"task:1:line{position}:recurring",
        action="create",
        kind="recurring",
        mpn="MS-365-E3",
        outcome=outcome.value,
    )


async def reload_task(session: AsyncSession, task_id: int) -> SyncTask:
    """The task as stored, not as this session last saw it."""
    found = await session.get(SyncTask, task_id, populate_existing=True)
    assert found is not None
    return found


async def tenant_count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Tenant)) or 0
