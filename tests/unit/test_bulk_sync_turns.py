"""Bulk sync at the CLI's default concurrency: several customers at once, one customer's tasks one
after another in the order given (two syncs of one agreement would plan against each other's
changes), and every task to one named agreement strictly in turn."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import inspect
from types import SimpleNamespace
from typing import Any

import pytest

from psasync.entrypoints.cli import operations
from psasync.services import integrations, planning
from psasync.services import sync as sync_service
from psasync.services import tasks as task_service
from psasync.services.bulk_sync import DEFAULT_CONCURRENCY, BulkSyncOptions, Result, bulk_sync
from psasync.services.tasks import TaskFilter, TaskPage, TaskView
from psasync.services.types import OrderType, TaskStatus

WHEN = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
# Task id → customer: customers A and B have three tasks each, C one.
CUSTOMERS = {1: "A", 2: "B", 3: "A", 4: "C", 5: "B", 6: "A", 7: "B"}


def task(task_id: int) -> TaskView:
    return TaskView(
        id=task_id,
        order_id=f"50000{task_id}",
        order_number=f"CH000{task_id:04d}",
        order_type=OrderType.CHANGE,
        customer_id=CUSTOMERS[task_id],
        customer_name=f"Customer {CUSTOMERS[task_id]}",
        subscription_id="7000101",
        status=TaskStatus.NEW,
        created_at=WHEN + dt.timedelta(minutes=task_id),
        error=None,
        agreement_id=None,
        synced_at=None,
    )


@pytest.fixture
def syncing(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Fake use cases: every task has one eligible agreement (its customer's); a sync takes a
    few loop turns and records when it started and ended."""
    seen: dict[str, Any] = {"events": [], "running": 0, "most": 0}

    async def psa_for(_services: object, _tenant_id: int) -> object:
        return object()

    async def list_tasks(_services: object, _actor: object, wanted: TaskFilter) -> TaskPage:
        items = [task(task_id) for task_id in CUSTOMERS][wanted.offset :]
        return TaskPage(items=items, total=len(CUSTOMERS))

    async def get_task(_services: object, _actor: object, task_id: int) -> TaskView:
        return task(task_id)

    async def agreements(_services: object, _actor: object, task_id: int) -> object:
        agreement = SimpleNamespace(id=ord(CUSTOMERS[task_id]), name="Agreement")
        return [SimpleNamespace(agreement=agreement, eligibility=SimpleNamespace(eligible=True))]

    async def sync(_services: object, _actor: object, task_id: int, **_options: Any) -> Any:
        seen["events"].append(("start", task_id))
        seen["running"] += 1
        seen["most"] = max(seen["most"], seen["running"])
        for _ in range(5):
            await asyncio.sleep(0)
        seen["running"] -= 1
        seen["events"].append(("end", task_id))
        synced = dataclasses.replace(task(task_id), status=TaskStatus.SYNCED)
        return SimpleNamespace(task=synced, actions=(), resumed=False)

    monkeypatch.setattr(integrations, "psa_for", psa_for)
    monkeypatch.setattr(task_service, "list_tasks", list_tasks)
    monkeypatch.setattr(task_service, "get_task", get_task)
    monkeypatch.setattr(planning, "agreements", agreements)
    monkeypatch.setattr(sync_service, "sync", sync)
    return seen


def run(options: BulkSyncOptions) -> Any:
    actor = SimpleNamespace(tenant_id=1)
    return asyncio.run(bulk_sync(SimpleNamespace(), actor, options))  # type: ignore[arg-type]


def overlapping(events: list[tuple[str, int]], tasks: set[int]) -> bool:
    running = 0
    for kind, task_id in events:
        if task_id in tasks:
            running += 1 if kind == "start" else -1
            if running > 1:
                return True
    return False


def test_the_cli_s_default_syncs_several_customers_at_once(syncing: dict[str, Any]) -> None:
    default = inspect.signature(operations.sync_command).parameters["concurrency"].default
    assert default == DEFAULT_CONCURRENCY > 1
    result = run(BulkSyncOptions(concurrency=default))
    assert result.count(Result.SYNCED) == len(CUSTOMERS)
    assert syncing["most"] == 3  # A, B and C; never two of one customer


@pytest.mark.parametrize("named", [False, True])
def test_one_customer_s_tasks_go_one_after_another_in_order(
    syncing: dict[str, Any], named: bool
) -> None:
    options = BulkSyncOptions(task_ids=tuple(CUSTOMERS) if named else (), concurrency=20)
    run(options)
    events = syncing["events"]
    for customer in "AB":
        mine = {task_id for task_id, of in CUSTOMERS.items() if of == customer}
        assert not overlapping(events, mine)
        assert [t for kind, t in events if kind == "start" and t in mine] == sorted(mine)


def test_tasks_to_one_named_agreement_go_strictly_in_turn(syncing: dict[str, Any]) -> None:
    run(BulkSyncOptions(task_ids=(7, 1, 4, 2), agreement_id=1201, concurrency=20))
    events = syncing["events"]
    assert syncing["most"] == 1
    assert [t for kind, t in events if kind == "start"] == [7, 1, 4, 2]
