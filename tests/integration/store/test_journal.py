"""The sync journal: runs and their actions, which runs a retry resumes, and the history."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from psasync.store import ActionOutcome, Database, RunOutcome, SyncRun
from psasync.store import journal as store
from psasync.store.snapshots import actions_from_json, actions_to_json
from tests.integration.store.rows import (
    NOW,
    action_row,
    add_tasks,
    add_tenant,
    at,
    run_row,
    task_row,
)
from tests.unit.domain.builders import BACKUP, E3, line, order, plan_for, subscription

pytestmark = pytest.mark.anyio


async def _start(
    database: Database,
    tenant: int,
    task: int,
    *outcomes: ActionOutcome,
    started: dt.datetime = NOW,
) -> tuple[int, list[int]]:
    """A run of the task with one action per outcome given; its id and its actions' ids."""
    async with database.session() as session:
        run = await store.start_run(
            session,
            run_row(tenant, task, started=started),
            [action_row(n, outcome=outcome) for n, outcome in enumerate(outcomes, start=1)],
        )
        return run.id, [action.id for action in run.actions]


async def _finish(database: Database, run_id: int, outcome: RunOutcome, minute: int = 1) -> None:
    async with database.session() as session:
        await store.finish_run(session, run_id, outcome=outcome, error=None, now=at(minute))


async def _unfinished(database: Database, tenant: int, task: int) -> int | None:
    async with database.session() as session:
        run = await store.unfinished_run(session, tenant, task)
        return None if run is None else run.id


@pytest.fixture
async def task(database: Database) -> tuple[int, int]:
    """A tenant and one of its tasks."""
    tenant = await add_tenant(database)
    (task_id,) = await add_tasks(database, task_row(tenant))
    return tenant, task_id


async def test_a_started_run_is_stored_with_its_actions_in_order(
    database: Database, task: tuple[int, int]
) -> None:
    tenant, task_id = task
    actions = [action_row(3), action_row(1), action_row(2)]
    async with database.session() as session:
        run = await store.start_run(session, run_row(tenant, task_id), actions)
        run_id = run.id
    async with database.session() as session:
        stored = await store.get_run(session, tenant, run_id)
        assert stored is not None
        assert stored.outcome == RunOutcome.RUNNING.value
        assert (stored.started_at, stored.finished_at) == (NOW, None)
        assert stored.prorated_amount == Decimal("100.00")
        assert [a.position for a in stored.actions] == [1, 2, 3]
        assert {a.outcome for a in stored.actions} == {ActionOutcome.PENDING.value}


async def test_two_actions_of_a_run_cannot_share_a_key(
    database: Database, task: tuple[int, int]
) -> None:
    tenant, task_id = task
    twins = [action_row(1), action_row(2)]
    twins[1].key = twins[0].key
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            await store.start_run(session, run_row(tenant, task_id), twins)
    async with database.session() as session:
        assert (await store.history(session, tenant, limit=10, offset=0))[1] == 0


async def test_recorded_actions_and_the_finished_run_are_kept(
    database: Database, task: tuple[int, int]
) -> None:
    tenant, task_id = task
    run_id, (first, second) = await _start(
        database, tenant, task_id, ActionOutcome.PENDING, ActionOutcome.PENDING
    )
    async with database.session() as session:
        await store.record_action(
            session, first, outcome=ActionOutcome.APPLIED, addition_id=3001, error=None, now=at(1)
        )
    async with database.session() as session:
        await store.record_action(
            session, second, outcome=ActionOutcome.FAILED, addition_id=None,
            error="product 9001 is inactive", now=at(2),
        )  # fmt: skip
        await store.finish_run(
            session, run_id, outcome=RunOutcome.FAILED, error="1 of 2 failed", now=at(3)
        )
    async with database.session() as session:
        run = await store.get_run(session, tenant, run_id)
        assert run is not None
        assert (run.outcome, run.error, run.finished_at) == ("failed", "1 of 2 failed", at(3))
        assert [(a.outcome, a.addition_id, a.error, a.finished_at) for a in run.actions] == [
            ("applied", 3001, None, at(1)),
            ("failed", None, "product 9001 is inactive", at(2)),
        ]


async def test_a_run_is_found_only_by_its_tenant(database: Database, task: tuple[int, int]) -> None:
    tenant, task_id = task
    other = await add_tenant(database, "2")
    run_id, _ = await _start(database, tenant, task_id)
    async with database.session() as session:
        assert await store.get_run(session, other, run_id) is None
        assert await store.get_run(session, tenant, run_id + 1000) is None
        assert await store.unfinished_run(session, other, task_id) is None


# unfinished_run -------------------------------------------------------------------------------


async def test_a_task_never_synced_has_no_unfinished_run(
    database: Database, task: tuple[int, int]
) -> None:
    assert await _unfinished(database, *task) is None


async def test_a_run_still_running_is_resumed(database: Database, task: tuple[int, int]) -> None:
    # Left "running" by a crash, whatever its actions got to.
    run_id, _ = await _start(database, *task, ActionOutcome.PENDING)
    assert await _unfinished(database, *task) == run_id


@pytest.mark.parametrize(
    "done", [ActionOutcome.APPLIED, ActionOutcome.FOUND_APPLIED, ActionOutcome.UNKNOWN]
)
async def test_a_failed_run_that_changed_something_is_resumed(
    database: Database, task: tuple[int, int], done: ActionOutcome
) -> None:
    run_id, _ = await _start(database, *task, done, ActionOutcome.FAILED, ActionOutcome.PENDING)
    await _finish(database, run_id, RunOutcome.FAILED)
    assert await _unfinished(database, *task) == run_id


async def test_a_failed_run_that_changed_nothing_is_not_resumed(
    database: Database, task: tuple[int, int]
) -> None:
    run_id, _ = await _start(database, *task, ActionOutcome.FAILED, ActionOutcome.PENDING)
    await _finish(database, run_id, RunOutcome.FAILED)
    assert await _unfinished(database, *task) is None


async def test_a_write_sent_before_a_crash_makes_a_failed_run_resumable(
    database: Database, task: tuple[int, int]
) -> None:
    # The answer of a write that was on its way never came back: it may land yet.
    run_id, (first, _) = await _start(database, *task, ActionOutcome.PENDING, ActionOutcome.PENDING)
    await _finish(database, run_id, RunOutcome.FAILED)
    assert await _unfinished(database, *task) is None
    async with database.session() as session:
        await store.mark_attempted(session, first, now=at(1))
    assert await _unfinished(database, *task) == run_id


async def test_a_failed_run_without_actions_is_not_resumed(
    database: Database, task: tuple[int, int]
) -> None:
    run_id, _ = await _start(database, *task)
    await _finish(database, run_id, RunOutcome.FAILED)
    assert await _unfinished(database, *task) is None


async def test_a_succeeded_run_is_not_resumed(database: Database, task: tuple[int, int]) -> None:
    run_id, _ = await _start(database, *task, ActionOutcome.APPLIED)
    await _finish(database, run_id, RunOutcome.SUCCEEDED)
    assert await _unfinished(database, *task) is None


async def test_actions_recorded_applied_make_a_failed_run_resumable(
    database: Database, task: tuple[int, int]
) -> None:
    run_id, (first, _) = await _start(database, *task, ActionOutcome.PENDING, ActionOutcome.PENDING)
    async with database.session() as session:
        await store.record_action(
            session, first, outcome=ActionOutcome.APPLIED, addition_id=3001, error=None, now=at(1)
        )
    await _finish(database, run_id, RunOutcome.FAILED, minute=2)
    assert await _unfinished(database, *task) == run_id


async def test_only_the_latest_run_counts(database: Database, task: tuple[int, int]) -> None:
    tenant, _ = task
    old, _ = await _start(database, *task, ActionOutcome.APPLIED)
    await _finish(database, old, RunOutcome.FAILED)
    newer, _ = await _start(database, *task, ActionOutcome.APPLIED, started=at(10))
    assert await _unfinished(database, *task) == newer
    await _finish(database, newer, RunOutcome.SUCCEEDED, minute=11)
    assert await _unfinished(database, *task) is None
    # Another task's runs are no business of this one.
    (other_task,) = await add_tasks(database, task_row(tenant, "ORD-2"))
    assert await _unfinished(database, tenant, other_task) is None


# history --------------------------------------------------------------------------------------


async def test_history_is_newest_first_counted_and_paged(database: Database) -> None:
    tenant, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    first, second = await add_tasks(database, task_row(tenant, "A"), task_row(tenant, "B"))
    (foreign,) = await add_tasks(database, task_row(other, "A"))
    runs = {
        "a-early": await _start(database, tenant, first, started=at(1)),
        "b-late": await _start(database, tenant, second, started=at(30)),
        "a-middle": await _start(database, tenant, first, started=at(10)),
        "a-middle-again": await _start(database, tenant, first, started=at(10)),
        "foreign": await _start(database, other, foreign, started=at(20)),
    }
    ids = {name: run_id for name, (run_id, _) in runs.items()}
    newest_first = [ids["b-late"], ids["a-middle-again"], ids["a-middle"], ids["a-early"]]

    async def listed(**options: int) -> tuple[list[int], int]:
        async with database.session() as session:
            found, total = await store.history(session, tenant, **options)
            return [run.id for run in found], total

    assert await listed(limit=10, offset=0) == (newest_first, 4)
    assert await listed(limit=2, offset=0) == (newest_first[:2], 4)
    assert await listed(limit=2, offset=2) == (newest_first[2:], 4)
    assert await listed(limit=2, offset=4) == ([], 4)
    assert await listed(task_id=first, limit=10, offset=0) == (newest_first[1:], 3)
    assert await listed(task_id=foreign, limit=10, offset=0) == ([], 0)


async def test_history_orders_by_the_instant_whatever_the_offset(
    database: Database, task: tuple[int, int]
) -> None:
    tenant, _ = task
    los_angeles = dt.timezone(-dt.timedelta(hours=8))
    karachi = dt.timezone(dt.timedelta(hours=5))
    later, _ = await _start(
        database, *task, started=dt.datetime(2026, 11, 24, 10, tzinfo=los_angeles)
    )
    earlier, _ = await _start(
        database, *task, started=dt.datetime(2026, 11, 24, 20, tzinfo=karachi)
    )
    async with database.session() as session:
        found, _ = await store.history(session, tenant, limit=10, offset=0)
    assert [run.id for run in found] == [later, earlier]
    assert found[0].started_at == dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)


# the plan a run applies -----------------------------------------------------------------------


async def test_the_plan_and_amounts_of_a_run_read_back_equal(
    database: Database, task: tuple[int, int]
) -> None:
    tenant, task_id = task
    plan = plan_for(
        order(lines=(line(quantity="5"), line(2, mpn=BACKUP, price="0.1", cost="0.07"))),
        held=subscription((E3, "5"), (BACKUP, "5")),
    )
    assert plan.actions
    run = run_row(tenant, task_id)
    run.plan_json = actions_to_json(plan.actions)
    run.prorated_amount = Decimal("0.1") + Decimal("0.2")
    run.recurring_after = Decimal("1234567890123456789012345.678")
    async with database.session() as session:
        run_id = (await store.start_run(session, run, [])).id
    async with database.session() as session:
        stored = await session.get(SyncRun, run_id)
        assert stored is not None
        assert actions_from_json(stored.plan_json) == plan.actions
        assert str(stored.prorated_amount) == "0.3"
        assert stored.recurring_after == Decimal("1234567890123456789012345.678")
