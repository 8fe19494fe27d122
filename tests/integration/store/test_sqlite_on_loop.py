"""A session's SQLite statements run on the event loop; a lock held elsewhere never stalls it.

store/sqlite_driver.py runs the statements of ``Database.session()`` and ``Database.read()``
on the loop with no busy timeout, and hands a statement that meets a lock to the connection's
thread to wait there. Another connection holding the write lock stands for another process (a
worker, the CLI) writing to the same file.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event, text

from psasync.store import Database

pytestmark = pytest.mark.anyio

HELD_SECONDS = 0.4


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'loop.db'}")

    @event.listens_for(db.engine.sync_engine, "connect")
    def thread_of_statements(connection: object, _record: object) -> None:
        # SELECT statement_thread() answers the thread that ran the statement.
        connection.create_function("statement_thread", 0, threading.get_ident)  # type: ignore[attr-defined]

    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    yield db
    await db.dispose()


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another writer's connection, holding the file's write lock until it commits."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes (body) VALUES ('theirs')")
    return other


def another_writer_for(path: Path, seconds: float) -> None:
    """Another writer holding the file's write lock for ``seconds``, then committing."""
    other = hold_write_lock(path)

    def commit() -> None:
        other.execute("COMMIT")
        other.close()

    threading.Timer(seconds, commit).start()


class LoopWatch:
    """The longest the event loop went without running a 5 ms ticker."""

    def __init__(self) -> None:
        self.longest_gap = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.longest_gap = max(self.longest_gap, now - last)
            last = now

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        await asyncio.sleep(0)  # the ticker has started before the work it watches
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def test_a_sessions_statements_run_on_the_loop_and_a_scanning_read_on_the_thread(
    database: Database,
) -> None:
    loop_thread = threading.get_ident()
    query = text("SELECT statement_thread()")
    async with database.session() as session:
        in_session = await session.scalar(query)
    async with database.read() as session:
        in_read = await session.scalar(query)
    async with database.read(scans=True) as session:
        in_scan = await session.scalar(query)
    async with database.engine.connect() as connection:
        on_connection = await connection.scalar(query)

    assert (in_session, in_read) == (loop_thread, loop_thread)
    assert in_scan != loop_thread
    assert on_connection != loop_thread


async def test_a_write_that_meets_another_writers_lock_waits_for_it_off_the_loop(
    database: Database, tmp_path: Path
) -> None:
    another_writer_for(tmp_path / "loop.db", HELD_SECONDS)
    started = time.perf_counter()
    async with LoopWatch() as watch:
        async with database.session() as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('ours')"))
    waited = time.perf_counter() - started

    async with database.read() as session:
        bodies = sorted((await session.scalars(text("SELECT body FROM notes"))).all())
    assert bodies == ["ours", "theirs"]
    assert waited >= HELD_SECONDS * 0.8  # it did wait for the other writer
    assert watch.longest_gap < HELD_SECONDS / 2  # and the loop ran meanwhile


async def test_a_read_runs_beside_another_writer_without_waiting(
    database: Database, tmp_path: Path
) -> None:
    other = hold_write_lock(tmp_path / "loop.db")
    try:
        started = time.perf_counter()
        async with database.read() as session:
            bodies = (await session.scalars(text("SELECT body FROM notes"))).all()
        assert bodies == []  # the other writer has not committed
        assert time.perf_counter() - started < HELD_SECONDS / 2
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_statements_outside_a_session_still_wait_for_another_writers_lock(
    database: Database, tmp_path: Path
) -> None:
    another_writer_for(tmp_path / "loop.db", HELD_SECONDS)
    async with LoopWatch() as watch:
        async with database.engine.begin() as connection:
            await connection.execute(text("INSERT INTO notes (body) VALUES ('ours')"))

    async with database.read() as session:
        count = await session.scalar(text("SELECT count(*) FROM notes"))
    assert count == 2
    assert watch.longest_gap < HELD_SECONDS / 2


async def test_a_bulk_insert_waits_for_another_writers_lock_off_the_loop(
    database: Database, tmp_path: Path
) -> None:
    another_writer_for(tmp_path / "loop.db", HELD_SECONDS)
    async with LoopWatch() as watch:
        async with database.session() as session:
            await session.execute(
                text("INSERT INTO notes (body) VALUES (:body)"),
                [{"body": f"ours {n}"} for n in range(50)],
            )

    async with database.read() as session:
        count = await session.scalar(text("SELECT count(*) FROM notes"))
    assert count == 51
    assert watch.longest_gap < HELD_SECONDS / 2
