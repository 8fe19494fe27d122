"""Reconciliation reports and their items, and the journal of the fixes applied to them.

A fix owns its item through a claim (``claim_token`` with a lease, one conditional UPDATE), as
a sync run owns its task: every journal write of the fix is conditional on the token.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.store.models import (
    ActionOutcome,
    FixOutcome,
    ReconciliationFixAction,
    ReconciliationItemRow,
    ReconciliationReport,
    RunOutcome,
    SyncAction,
    SyncRun,
)

DONE = (ActionOutcome.APPLIED.value, ActionOutcome.FOUND_APPLIED.value)


async def save_report(
    session: AsyncSession, report: ReconciliationReport, items: Sequence[ReconciliationItemRow]
) -> ReconciliationReport:
    session.add(report)
    await session.flush()
    for item in items:
        item.report_id = report.id
    session.add_all(items)
    await session.flush()
    return report


async def latest_report(session: AsyncSession, tenant_id: int) -> ReconciliationReport | None:
    found = await session.scalars(
        select(ReconciliationReport)
        .where(ReconciliationReport.tenant_id == tenant_id)
        .order_by(ReconciliationReport.created_at.desc(), ReconciliationReport.id.desc())
        .limit(1)
    )
    return found.first()


async def get_report(
    session: AsyncSession, tenant_id: int, report_id: int
) -> ReconciliationReport | None:
    found = await session.scalars(
        select(ReconciliationReport).where(
            ReconciliationReport.tenant_id == tenant_id, ReconciliationReport.id == report_id
        )
    )
    return found.first()


async def report_items(
    session: AsyncSession,
    report_id: int,
    *,
    customer_id: str | None = None,
    kind: str | None = None,
    item_ids: Sequence[str] | None = None,
) -> list[ReconciliationItemRow]:
    """The report's items in report order, narrowed by customer, kind or item ids."""
    where = [ReconciliationItemRow.report_id == report_id]
    if customer_id is not None:
        where.append(ReconciliationItemRow.customer_id == customer_id)
    if kind is not None:
        where.append(ReconciliationItemRow.kind == kind)
    if item_ids is not None:
        where.append(ReconciliationItemRow.item_id.in_(list(item_ids)))
    found = await session.scalars(
        select(ReconciliationItemRow).where(*where).order_by(ReconciliationItemRow.position)
    )
    return list(found)


async def get_item(session: AsyncSession, row_id: int) -> ReconciliationItemRow | None:
    found = await session.scalars(
        select(ReconciliationItemRow)
        .where(ReconciliationItemRow.id == row_id)
        .execution_options(populate_existing=True)
    )
    return found.first()


async def claim_item(
    session: AsyncSession, row_id: int, *, token: str, now: dt.datetime, until: dt.datetime
) -> bool:
    """Take the item for a fix unless another fix holds it with a live lease."""
    result = await session.execute(
        update(ReconciliationItemRow)
        .where(
            ReconciliationItemRow.id == row_id,
            or_(
                ReconciliationItemRow.claim_token.is_(None),
                ReconciliationItemRow.claimed_until < now,
                ReconciliationItemRow.claim_token == token,
            ),
        )
        .values(claim_token=token, claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def renew_item(session: AsyncSession, row_id: int, *, token: str, until: dt.datetime) -> bool:
    result = await session.execute(
        update(ReconciliationItemRow)
        .where(ReconciliationItemRow.id == row_id, ReconciliationItemRow.claim_token == token)
        .values(claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def release_item(session: AsyncSession, row_id: int, *, token: str) -> bool:
    result = await session.execute(
        update(ReconciliationItemRow)
        .where(ReconciliationItemRow.id == row_id, ReconciliationItemRow.claim_token == token)
        .values(claim_token=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def set_fix(
    session: AsyncSession,
    row_id: int,
    *,
    outcome: FixOutcome,
    now: dt.datetime,
    by: str | None = None,
    error: str | None = None,
    note: str | None = None,
) -> None:
    """Record how the item's fix stands (fixed or already fixed: ``fixed_at`` is set)."""
    values: dict[str, object] = {"fix_outcome": outcome.value, "fix_error": error}
    if by is not None:
        values["fix_by"] = by
    if note is not None:
        values["fix_note"] = note
    if outcome in (FixOutcome.FIXED, FixOutcome.ALREADY_FIXED):
        values["fixed_at"] = now
    await session.execute(
        update(ReconciliationItemRow)
        .where(ReconciliationItemRow.id == row_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def start_fix(
    session: AsyncSession,
    row: ReconciliationItemRow,
    *,
    agreement_id: int,
    plan_json: str,
    actions: list[ReconciliationFixAction],
    by: str,
    now: dt.datetime,
) -> None:
    """Journal the fix's plan with every action pending, before the first write."""
    await session.execute(
        update(ReconciliationItemRow)
        .where(ReconciliationItemRow.id == row.id)
        .values(
            fix_outcome=FixOutcome.RUNNING.value,
            fix_agreement_id=agreement_id,
            fix_plan_json=plan_json,
            fix_started_at=now,
            fix_by=by,
            fix_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    for action in actions:
        action.item_row_id = row.id
    session.add_all(actions)
    await session.flush()


async def record_fix_action(
    session: AsyncSession,
    action_id: int,
    *,
    outcome: ActionOutcome,
    addition_id: int | None,
    error: str | None,
    now: dt.datetime,
) -> None:
    await session.execute(
        update(ReconciliationFixAction)
        .where(ReconciliationFixAction.id == action_id)
        .values(outcome=outcome.value, addition_id=addition_id, error=error, finished_at=now)
        .execution_options(synchronize_session=False)
    )


async def mark_fix_attempted(
    session: AsyncSession, action_id: int, *, now: dt.datetime, expectation: str | None
) -> None:
    """An action is about to be sent, with what the PSA showed just before (JSON or None)."""
    await session.execute(
        update(ReconciliationFixAction)
        .where(ReconciliationFixAction.id == action_id)
        .values(attempted_at=now, expectation_json=expectation)
        .execution_options(synchronize_session=False)
    )


async def fix_actions(session: AsyncSession, row_id: int) -> list[ReconciliationFixAction]:
    found = await session.scalars(
        select(ReconciliationFixAction)
        .where(ReconciliationFixAction.item_row_id == row_id)
        .order_by(ReconciliationFixAction.position)
        .execution_options(populate_existing=True)
    )
    return list(found)


async def written_plans(
    session: AsyncSession, tenant_id: int
) -> list[tuple[dt.datetime, str, dict[str, int | None]]]:
    """What psasync wrote, oldest first: each plan (JSON) of a sync run that succeeded and of
    every fix, with the addition each of its applied actions wrote, by key."""
    written: list[tuple[dt.datetime, str, dict[str, int | None]]] = []
    runs = await session.execute(
        select(SyncRun.id, SyncRun.started_at, SyncRun.plan_json).where(
            SyncRun.tenant_id == tenant_id, SyncRun.outcome == RunOutcome.SUCCEEDED.value
        )
    )
    run_rows = list(runs)
    applied: dict[int, dict[str, int | None]] = {row.id: {} for row in run_rows}
    if run_rows:
        steps = await session.execute(
            select(SyncAction.run_id, SyncAction.key, SyncAction.addition_id)
            .join(SyncRun, SyncRun.id == SyncAction.run_id)
            .where(
                SyncRun.tenant_id == tenant_id,
                SyncRun.outcome == RunOutcome.SUCCEEDED.value,
                SyncAction.outcome.in_(DONE),
            )
        )
        for step in steps:
            applied[step.run_id][step.key] = step.addition_id
    written.extend((row.started_at, row.plan_json, applied[row.id]) for row in run_rows)
    fixes = await session.execute(
        select(
            ReconciliationItemRow.id,
            ReconciliationItemRow.fix_started_at,
            ReconciliationItemRow.fix_plan_json,
        )
        .join(
            ReconciliationFixAction, ReconciliationFixAction.item_row_id == ReconciliationItemRow.id
        )
        .where(ReconciliationFixAction.tenant_id == tenant_id)
        .distinct()
    )
    fix_rows = [row for row in fixes if row.fix_plan_json and row.fix_started_at]
    fixed: dict[int, dict[str, int | None]] = {row.id: {} for row in fix_rows}
    if fix_rows:
        steps = await session.execute(
            select(
                ReconciliationFixAction.item_row_id,
                ReconciliationFixAction.key,
                ReconciliationFixAction.addition_id,
            ).where(
                ReconciliationFixAction.tenant_id == tenant_id,
                ReconciliationFixAction.outcome.in_(DONE),
            )
        )
        for step in steps:
            fixed.setdefault(step.item_row_id, {})[step.key] = step.addition_id
    written.extend((row.fix_started_at, row.fix_plan_json, fixed[row.id]) for row in fix_rows)
    written.sort(key=lambda entry: entry[0])
    return written
