"""A tenant's automation: the marketplace integration user (the password only ever stored
sealed), the schedule and auto-sync settings, and the tasks an unattended run decides."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.store.models import (
    AutomationConfig,
    IntegrationUser,
    RunOutcome,
    SyncRun,
    SyncTask,
    TaskStatus,
)


async def integration_user(session: AsyncSession, tenant_id: int) -> IntegrationUser | None:
    row: IntegrationUser | None = await session.scalar(
        select(IntegrationUser).where(IntegrationUser.tenant_id == tenant_id)
    )
    return row


async def save_integration_user(
    session: AsyncSession,
    tenant_id: int,
    *,
    username: str,
    password_encrypted: str,
    now: dt.datetime,
    by: str,
) -> IntegrationUser:
    """Set (or replace) the integration user, recording who set it and when."""
    row = await integration_user(session, tenant_id)
    if row is None:
        row = IntegrationUser(tenant_id=tenant_id)
        session.add(row)
    row.username = username
    row.password_encrypted = password_encrypted
    row.configured_at = now
    row.configured_by = by
    await session.flush()
    return row


async def forget_integration_user(session: AsyncSession, tenant_id: int) -> bool:
    """Delete the integration user; whether there was one."""
    result = await session.execute(
        delete(IntegrationUser).where(IntegrationUser.tenant_id == tenant_id)
    )
    return int(getattr(result, "rowcount", 0) or 0) > 0


# The tenant's automation settings (DESIGN §8) ------------------------------------------------


async def automation_config(session: AsyncSession, tenant_id: int) -> AutomationConfig | None:
    """The tenant's settings row; None: everything is off."""
    row: AutomationConfig | None = await session.get(AutomationConfig, tenant_id)
    return row


@dataclass(frozen=True)
class ConfigValues:
    """What a tenant sets: the schedule, the auto-sync policy and who hears about each run."""

    schedule_every: str | None
    schedule_at: str | None
    timezone: str
    order_types: tuple[str, ...]
    price_source: str
    allow_credits: bool
    max_amount: Decimal | None
    emails: tuple[str, ...]
    webhook_url: str | None


async def save_automation_config(
    session: AsyncSession,
    tenant_id: int,
    values: ConfigValues,
    *,
    next_run_at: dt.datetime | None,
    now: dt.datetime,
    by: str,
) -> AutomationConfig:
    """Store the settings (the row is made on first save); the run times are kept but
    ``next_run_at``, which the schedule decides."""
    row = await automation_config(session, tenant_id)
    if row is None:
        row = AutomationConfig(tenant_id=tenant_id)
        session.add(row)
    row.schedule_every = values.schedule_every
    row.schedule_at = values.schedule_at
    row.timezone = values.timezone
    row.auto_sync_order_types = json.dumps(list(values.order_types))
    row.auto_sync_price_source = values.price_source
    row.allow_credits = values.allow_credits
    row.max_amount = values.max_amount
    row.notify_emails = json.dumps(list(values.emails))
    row.webhook_url = values.webhook_url
    row.next_run_at = next_run_at
    row.updated_at = now
    row.updated_by = by
    await session.flush()
    return row


def order_types_of(row: AutomationConfig) -> tuple[str, ...]:
    return tuple(str(value) for value in json.loads(row.auto_sync_order_types or "[]"))


def emails_of(row: AutomationConfig) -> tuple[str, ...]:
    return tuple(str(value) for value in json.loads(row.notify_emails or "[]"))


async def scheduled_tenants(session: AsyncSession, now: dt.datetime) -> list[AutomationConfig]:
    """The settings of every tenant with a schedule, an integration user, and no slot claimed
    beyond ``now`` (their next run is due, or was never set)."""
    found = await session.scalars(
        select(AutomationConfig)
        .join(IntegrationUser, IntegrationUser.tenant_id == AutomationConfig.tenant_id)
        .where(
            AutomationConfig.schedule_every.is_not(None),
            or_(AutomationConfig.next_run_at.is_(None), AutomationConfig.next_run_at <= now),
        )
        .order_by(AutomationConfig.tenant_id)
    )
    return list(found)


async def claim_slot(
    session: AsyncSession,
    tenant_id: int,
    *,
    seen: dt.datetime | None,
    next_run_at: dt.datetime,
) -> bool:
    """Move the tenant's next run from ``seen`` (what the caller read) to ``next_run_at``: one
    conditional UPDATE, so of any number of callers for one slot exactly one wins."""
    awaited = (
        AutomationConfig.next_run_at.is_(None)
        if seen is None
        else AutomationConfig.next_run_at == seen
    )
    result = await session.execute(
        update(AutomationConfig)
        .where(AutomationConfig.tenant_id == tenant_id, awaited)
        .values(next_run_at=next_run_at)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) > 0


async def record_run(
    session: AsyncSession,
    tenant_id: int,
    *,
    started_at: dt.datetime,
    next_run_at: dt.datetime | None,
) -> None:
    """Note that a run started; the next run only ever moves later (a slot already claimed by
    the schedule stays claimed)."""
    await session.execute(
        update(AutomationConfig)
        .where(AutomationConfig.tenant_id == tenant_id)
        .values(last_run_at=started_at)
        .execution_options(synchronize_session=False)
    )
    if next_run_at is None:
        return
    await session.execute(
        update(AutomationConfig)
        .where(
            AutomationConfig.tenant_id == tenant_id,
            or_(
                AutomationConfig.next_run_at.is_(None),
                AutomationConfig.next_run_at < next_run_at,
            ),
        )
        .values(next_run_at=next_run_at)
        .execution_options(synchronize_session=False)
    )


# Tasks as an unattended run decides them -------------------------------------------------------


async def undecided_tasks(
    session: AsyncSession,
    tenant_id: int,
    *,
    automation: str,
    interrupted: str,
    task_id: int | None = None,
) -> list[SyncTask]:
    """The tasks an unattended run decides, oldest order first: new ones without a waiting
    reason, and failed ones whose latest run was an unattended sync cut short (``interrupted``:
    how such a run's error begins), which resume. With ``task_id``: that task, if it is one."""
    latest = (
        select(func.max(SyncRun.id))
        .where(SyncRun.tenant_id == tenant_id, SyncRun.task_id == SyncTask.id)
        .correlate(SyncTask)
        .scalar_subquery()
    )
    cut_short = exists().where(
        SyncRun.id == latest,
        SyncRun.user == automation,
        or_(
            SyncRun.outcome == RunOutcome.RUNNING.value,
            SyncRun.error.like(f"{_escape_like(interrupted)}%", escape="\\"),
        ),
    )
    only = [SyncTask.id == task_id] if task_id is not None else []
    found = await session.scalars(
        select(SyncTask)
        .where(
            SyncTask.tenant_id == tenant_id,
            *only,
            SyncTask.waiting_reason.is_(None),
            or_(
                SyncTask.status == TaskStatus.NEW.value,
                and_(SyncTask.status == TaskStatus.FAILED.value, cut_short),
            ),
        )
        .order_by(SyncTask.order_created_at, SyncTask.id)
    )
    return list(found)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def set_waiting_reason(
    session: AsyncSession, tenant_id: int, task_id: int, reason: str
) -> bool:
    """Leave a task for a person with the reason; a task synced or ignored meanwhile is left
    alone."""
    result = await session.execute(
        update(SyncTask)
        .where(
            SyncTask.tenant_id == tenant_id,
            SyncTask.id == task_id,
            SyncTask.status.in_([TaskStatus.NEW.value, TaskStatus.FAILED.value]),
        )
        .values(waiting_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) > 0


async def clear_waiting_reasons(session: AsyncSession, tenant_id: int) -> int:
    """Forget every waiting reason of the tenant's new tasks (the policy changed: the next run
    decides them again); how many."""
    result = await session.execute(
        update(SyncTask)
        .where(
            SyncTask.tenant_id == tenant_id,
            SyncTask.status.in_([TaskStatus.NEW.value, TaskStatus.FAILED.value]),
            SyncTask.waiting_reason.is_not(None),
        )
        .values(waiting_reason=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
