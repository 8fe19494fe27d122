"""The sync journal: every run with its actions, each recorded before the next one starts."""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.store.models import (
    ActionOutcome,
    RunOutcome,
    SyncAction,
    SyncEvent,
    SyncEventKind,
    SyncRun,
)

# A run's journal writes, built once with their values as parameters (see store.tasks: the
# compiled form is found without building the statement and its cache key on every call).
_actions = cast(Table, SyncAction.__table__)
_runs = cast(Table, SyncRun.__table__)
_RECORD_ACTION = (
    update(_actions)
    .where(_actions.c.id == bindparam("action_row"))
    .values(
        outcome=bindparam("new_outcome"),
        addition_id=bindparam("new_addition"),
        error=bindparam("new_error"),
        finished_at=bindparam("now"),
    )
)
_MARK_ATTEMPTED = (
    update(_actions)
    .where(_actions.c.id == bindparam("action_row"))
    .values(attempted_at=bindparam("now"), expectation_json=bindparam("expectation"))
)
_FINISH_RUN = (
    update(_runs)
    .where(_runs.c.id == bindparam("run"))
    .values(
        outcome=bindparam("new_outcome"), error=bindparam("new_error"), finished_at=bindparam("now")
    )
)
_events = cast(Table, SyncEvent.__table__)
# Whole rows in: the compiled INSERT is cached for its set of columns, and the actions go in as
# one executemany (batched into multi-row INSERTs with RETURNING), not as ORM objects.
_INSERT_RUN = insert(_runs).returning(_runs.c.id)
_INSERT_ACTIONS = insert(_actions).returning(_actions.c.key, _actions.c.id)
_INSERT_EVENT = insert(_events).returning(_events.c.id)
_LATEST_RUN = (
    select(SyncRun)
    .where(SyncRun.tenant_id == bindparam("tenant"), SyncRun.task_id == bindparam("task"))
    .order_by(SyncRun.id.desc())
    .limit(1)
)


async def start_run(session: AsyncSession, run: SyncRun, actions: list[SyncAction]) -> SyncRun:
    """Store a new run with its actions: two INSERTs, whatever the number of actions.

    ``run`` and ``actions`` are new objects; they get their ids and are returned as the run
    (with ``actions`` in the order given), outside the session.
    """
    if run.outcome is None:
        run.outcome = RunOutcome.RUNNING.value
    inserted = await session.execute(_INSERT_RUN, _row(run))
    run.id = inserted.scalar_one()
    for action in actions:
        action.run_id = run.id
        if action.outcome is None:
            action.outcome = ActionOutcome.PENDING.value
    if actions:
        # A many-row INSERT returns its rows in no set order: ids are matched by key (unique
        # in a run).
        stored = await session.execute(_INSERT_ACTIONS, [_row(action) for action in actions])
        ids = dict(stored.tuples().all())
        for action in actions:
            action.id = ids[action.key]
    run.actions = actions
    return run


def _row(value: SyncRun | SyncAction | SyncEvent) -> dict[str, object]:
    """A new object's column values as an INSERT takes them (its id left to the database)."""
    return {
        column.key: getattr(value, column.key)
        for column in value.__mapper__.column_attrs
        if column.key != "id"
    }


async def unfinished_run(session: AsyncSession, tenant_id: int, task_id: int) -> SyncRun | None:
    """The task's latest run, if it was cut short after it may have changed something: a retry
    resumes it. That includes a write whose answer never came (it may land late).

    A run that failed before any change was made is not resumed; the next Sync plans afresh.
    """
    found = await session.scalars(_LATEST_RUN, {"tenant": tenant_id, "task": task_id})
    run = found.first()
    if run is None or run.outcome == RunOutcome.SUCCEEDED.value:
        return None
    if run.outcome == RunOutcome.RUNNING.value:
        return run
    return run if any(_may_have_written(action) for action in run.actions) else None


def _may_have_written(action: SyncAction) -> bool:
    """Whether ConnectWise may hold this action's work: applied, or sent without an answer."""
    if action.outcome in (
        ActionOutcome.APPLIED.value,
        ActionOutcome.FOUND_APPLIED.value,
        ActionOutcome.UNKNOWN.value,
    ):
        return True
    return action.outcome == ActionOutcome.PENDING.value and action.attempted_at is not None


async def record_action(
    session: AsyncSession,
    action_id: int,
    *,
    outcome: ActionOutcome,
    addition_id: int | None,
    error: str | None,
    now: dt.datetime,
) -> None:
    await session.execute(
        _RECORD_ACTION,
        {
            "action_row": action_id,
            "new_outcome": outcome.value,
            "new_addition": addition_id,
            "new_error": error,
            "now": now,
        },
    )


async def mark_attempted(
    session: AsyncSession, action_id: int, *, now: dt.datetime, expectation: str | None = None
) -> None:
    """Note that the action's vendor write is about to be sent (its outcome may stay unknown),
    with what the PSA showed just before it."""
    await session.execute(
        _MARK_ATTEMPTED, {"action_row": action_id, "now": now, "expectation": expectation}
    )


async def add_event(
    session: AsyncSession,
    run_id: int,
    *,
    kind: SyncEventKind,
    message: str,
    now: dt.datetime,
    key: str | None = None,
    addition_id: int | None = None,
) -> SyncEvent:
    """Record what a run's verification found or did beyond its planned actions."""
    event = SyncEvent(
        run_id=run_id, kind=kind.value, key=key, addition_id=addition_id, message=message, at=now
    )
    inserted = await session.execute(_INSERT_EVENT, _row(event))
    event.id = inserted.scalar_one()
    return event


async def finish_run(
    session: AsyncSession, run_id: int, *, outcome: RunOutcome, error: str | None, now: dt.datetime
) -> None:
    await session.execute(
        _FINISH_RUN, {"run": run_id, "new_outcome": outcome.value, "new_error": error, "now": now}
    )


async def get_run(session: AsyncSession, tenant_id: int, run_id: int) -> SyncRun | None:
    found = await session.scalars(
        select(SyncRun).where(SyncRun.tenant_id == tenant_id, SyncRun.id == run_id)
    )
    return found.first()


async def history(
    session: AsyncSession, tenant_id: int, *, task_id: int | None = None, limit: int, offset: int
) -> tuple[list[SyncRun], int]:
    """The tenant's runs, newest first, and how many there are."""
    where = [SyncRun.tenant_id == tenant_id]
    if task_id is not None:
        where.append(SyncRun.task_id == task_id)
    total = await session.scalar(select(func.count()).select_from(SyncRun).where(*where))
    runs = await session.scalars(
        select(SyncRun)
        .where(*where)
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(runs), total or 0
