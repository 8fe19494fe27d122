"""``Database.read``: reads that never queue behind this process's writes, and write nothing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from psasync.store import Database, SyncTask
from tests.integration.store.rows import add_tasks, add_tenant, task_row

pytestmark = pytest.mark.anyio


async def test_a_read_runs_while_a_write_transaction_holds_its_turn(database: Database) -> None:
    tenant = await add_tenant(database)
    (task_id,) = await add_tasks(database, task_row(tenant))
    writing, read_done = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with database.session() as session:
            await session.execute(
                update(SyncTask).where(SyncTask.id == task_id).values(error="being written")
            )
            writing.set()
            # The write transaction stays open until the read has finished beside it.
            await asyncio.wait_for(read_done.wait(), timeout=10)

    async def reader() -> str | None:
        await writing.wait()
        async with database.read() as session:
            error = await session.scalar(select(SyncTask.error).where(SyncTask.id == task_id))
        read_done.set()
        return error

    _, seen = await asyncio.gather(writer(), reader())
    assert seen is None  # the write was not committed yet: the read saw the row before it
    async with database.read() as session:
        task = await session.get(SyncTask, task_id)
        assert task is not None and task.error == "being written"


async def test_changes_made_in_a_read_are_never_stored(database: Database) -> None:
    tenant = await add_tenant(database)
    (task_id,) = await add_tasks(database, task_row(tenant))
    async with database.read() as session:
        task = await session.get(SyncTask, task_id)
        assert task is not None
        task.error = "changed in a read"
        # A query after the change does not flush it.
        await session.scalar(select(SyncTask.id).where(SyncTask.id == task_id))
    # The object read stays usable after the block (it is not expired).
    assert task.customer_name
    async with database.read() as session:
        stored = await session.scalar(select(SyncTask.error).where(SyncTask.id == task_id))
    assert stored is None
