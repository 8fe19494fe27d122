"""History: the audit trail of every Sync — who, when, which task and agreement, the result."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from psasync.services.actor import Actor
from psasync.services.context import Services
from psasync.services.errors import BadRequest
from psasync.services.sync import SyncOutcome, run_outcome
from psasync.services.tasks import MAX_PAGE, TaskView, load_task
from psasync.store import ActionOutcome, RunOutcome, SyncAction, SyncRun, journal


@dataclass(frozen=True)
class HistoryEntry:
    outcome: SyncOutcome
    run: SyncRun

    @property
    def user(self) -> str:
        return self.run.user

    @property
    def result(self) -> str:
        return self.run.outcome


@dataclass(frozen=True)
class HistoryPage:
    items: list[HistoryEntry]
    total: int


async def history(
    services: Services,
    actor: Actor,
    *,
    task_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> HistoryPage:
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise BadRequest(
            f"limit must be 1 to {MAX_PAGE} and offset not negative", code="InvalidFilter"
        )
    async with services.db.session() as session:
        if task_id is not None:
            await load_task(session, actor.tenant_id, task_id)
        runs, total = await journal.history(
            session, actor.tenant_id, task_id=task_id, limit=limit, offset=offset
        )
        items = []
        for run in runs:
            task = TaskView.of(await load_task(session, actor.tenant_id, run.task_id))
            items.append(HistoryEntry(outcome=run_outcome(run, task), run=run))
    return HistoryPage(items=items, total=total)


async def synced_with_exclusions(
    services: Services, actor: Actor, task_ids: Iterable[int]
) -> set[int]:
    """Which of these tasks were synced with lines left out: a succeeded run journalled a
    skipped action (one query, for a page of tasks)."""
    wanted = sorted(set(task_ids))
    if not wanted:
        return set()
    async with services.db.session() as session:
        found = await session.scalars(
            select(SyncRun.task_id)
            .join(SyncAction, SyncAction.run_id == SyncRun.id)
            .where(
                SyncRun.tenant_id == actor.tenant_id,
                SyncRun.task_id.in_(wanted),
                SyncRun.outcome == RunOutcome.SUCCEEDED.value,
                SyncAction.outcome == ActionOutcome.SKIPPED.value,
            )
            .distinct()
        )
        return set(found)
