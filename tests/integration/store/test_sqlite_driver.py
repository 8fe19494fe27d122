"""psasync's SQLite adapter answers exactly as SQLAlchemy's own aiosqlite adapter — rows, row
counts, ids, RETURNING, many-row inserts, errors — whether a statement runs on the event loop
(in a session's block) or on the connection's thread (one call there a statement)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from psasync.store.database import Database
from psasync.store.sqlite_driver import OnLoopAiosqlite, statements_on_loop

pytestmark = pytest.mark.anyio

metadata = MetaData()
lines = Table(
    "lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(20), unique=True),
    Column("quantity", Integer),
)


async def _engine(path: Path, **options: Any) -> AsyncEngine:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", **options)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    return engine


@pytest.fixture(params=["stock", "on-thread"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    options = {"module": OnLoopAiosqlite()} if request.param == "on-thread" else {}
    engine = await _engine(tmp_path / "lines.db", **options)
    yield engine
    await engine.dispose()


Transaction = AsyncConnection | AsyncSession


@pytest.fixture(params=["stock", "on-thread", "on-loop"])
async def transaction(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """``transaction()``: a block whose statements run as the parameter says."""
    options = {"module": OnLoopAiosqlite()} if request.param != "stock" else {}
    engine = await _engine(tmp_path / "lines.db", **options)

    @asynccontextmanager
    async def begin() -> AsyncIterator[Transaction]:
        if request.param == "on-loop":
            # A session, as Database.session() opens: SQLAlchemy's connection API insists
            # that a statement awaits something, and on the loop nothing is awaited.
            with statements_on_loop():
                async with AsyncSession(engine) as session, session.begin():
                    yield session
        else:
            async with engine.begin() as connection:
                yield connection

    yield begin
    await engine.dispose()


async def test_rows_counts_ids_and_returning_are_the_drivers(transaction: Any) -> None:
    async with transaction() as connection:
        first = await connection.execute(insert(lines).values(key="a", quantity=1))
        assert first.inserted_primary_key == (1,)
        many = await connection.execute(
            insert(lines).returning(lines.c.key, lines.c.id),
            [{"key": f"k{n}", "quantity": n} for n in range(250)],
        )
        ids = dict(many.tuples().all())
        assert len(ids) == 250 and ids["k0"] == 2
        changed = await connection.execute(
            update(lines).where(lines.c.quantity < bindparam("below")).values(quantity=0),
            {"below": 10},
        )
        assert changed.rowcount == 11  # "a" and k0…k9
        plain_many = await connection.execute(
            update(lines).where(lines.c.key == bindparam("which")).values(quantity=7),
            [{"which": "k100"}, {"which": "k101"}, {"which": "absent"}],
        )
        assert plain_many.rowcount == 2
        rows = (
            await connection.execute(select(lines.c.key, lines.c.quantity).order_by(lines.c.id))
        ).all()
        assert rows[0] == ("a", 0) and rows[101] == ("k100", 7) and len(rows) == 251
        assert (await connection.execute(select(lines).where(lines.c.key == "zz"))).all() == []


async def test_errors_are_the_dbapis_and_leave_the_transaction_usable(
    transaction: Any,
) -> None:
    with pytest.raises(IntegrityError):
        async with transaction() as connection:
            await connection.execute(insert(lines).values(key="a", quantity=1))
            with pytest.raises(OperationalError):
                await connection.execute(text("SELECT nothing FROM nowhere"))
            await connection.execute(insert(lines).values(key="b", quantity=1))
            await connection.execute(insert(lines).values(key="a", quantity=2))
    async with transaction() as connection:
        count = await connection.scalar(select(func.count()).select_from(lines))
        assert count == 0  # rolled back with the transaction
        await connection.execute(insert(lines).values(key="a", quantity=1))
        assert await connection.scalar(select(lines.c.quantity).where(lines.c.key == "a")) == 1


async def test_a_statement_cancelled_while_it_runs_leaves_the_pool_usable(
    engine: AsyncEngine,
) -> None:
    counting = text(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) "
        "SELECT count(*) FROM c"
    )

    async def long_count() -> object:
        async with engine.connect() as connection:
            return await connection.scalar(counting)

    running = asyncio.create_task(long_count())
    await asyncio.sleep(0.05)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    async with engine.begin() as connection:
        await connection.execute(insert(lines).values(key="after", quantity=1))
    async with engine.connect() as connection:
        assert await connection.scalar(select(lines.c.quantity).where(lines.c.key == "after")) == 1


async def test_a_sessions_statements_make_no_call_to_the_thread_and_others_one_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'calls.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    calls = 0
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    async with database.session() as session:
        await session.execute(insert(lines).values(key="a", quantity=1))
        await session.execute(select(lines).where(lines.c.key == "a"))
        await session.execute(update(lines).values(quantity=2))
    in_session = calls
    async with database.engine.connect() as connection:
        calls = 0
        await connection.execute(insert(lines).values(key="b", quantity=1))
        await connection.execute(select(lines).where(lines.c.key == "b"))
        await connection.execute(update(lines).values(quantity=3))
        on_connection = calls
    await database.dispose()
    assert in_session == 0, f"{in_session} calls to aiosqlite's thread for a session's block"
    assert on_connection == 3, f"{on_connection} calls to aiosqlite's thread for 3 statements"
