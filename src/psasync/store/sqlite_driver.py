"""SQLite through aiosqlite, with a session's statements run on the event loop itself.

aiosqlite runs each call on the connection's own thread, so the event loop never waits on the
file. Each call is a round trip to that thread and back through the loop, and for the
statements psasync runs most (a sync's claim and journal writes, a plan's reads: microseconds of
SQLite's work each) the round trips cost far more CPU than SQLite: a sync's twenty statements
and seven commits spent about a quarter of its CPU on them (docs/performance.md).

So inside ``Database.session()`` and ``Database.read()`` (``statements_on_loop``) a statement
runs on the loop, as do the commit and the rollback, and waits for nothing: the connection's
busy timeout is zero. Where SQLite cannot take a lock at once (a writer in another process
holds the file), the statement fails with SQLITE_BUSY having done nothing, and goes to the
connection's thread, which waits for the lock as long as the engine's ``timeout`` allows: the
loop serves every other request meanwhile. Bulk statements (``executemany``: Check Changes'
thousands of new tasks) and every statement outside such a block (migrations, ``engine.connect``)
keep the thread. Connecting, errors and the pool are SQLAlchemy's aiosqlite dialect, unchanged:
the engine is created with ``module=`` this adapter.

A statement on the thread is still one call there, not SQLAlchemy's four (open a cursor,
execute, fetch the rows, close the cursor).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

_T = TypeVar("_T")

# What one statement left behind: its description, its rows, lastrowid and rowcount.
_Outcome = tuple[Any, list[Any], Any, int]

# SQLAlchemy's greenlets run with a copy of the calling task's context, so a statement sees
# the value its session's block set.
_on_loop: ContextVar[bool] = ContextVar("psasync_sqlite_statements_on_loop", default=False)

# sqlite3's default when no ``timeout`` is given: five seconds.
_DEFAULT_LOCK_WAIT_SECONDS = 5.0


@contextmanager
def statements_on_loop(enabled: bool = True) -> Iterator[None]:
    """Within the block, this task's SQLite statements run on the event loop (see above).

    Tasks started inside the block inherit it, as they do any context variable: they reach the
    database through sessions too (SQLAlchemy's ``AsyncConnection`` insists that a statement
    awaits something, and on the loop nothing is awaited).
    """
    token = _on_loop.set(enabled)
    try:
        yield
    finally:
        _on_loop.reset(token)


def _run_statement(
    connection: sqlite3.Connection, operation: str, parameters: Any, *, many: bool
) -> _Outcome:
    """The whole of one statement, from cursor to rows."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


def _waiting_for_locks(
    connection: sqlite3.Connection, wait_ms: int, work: Callable[..., _T], *args: Any, **kw: Any
) -> _T:
    """On the connection's thread: ``work`` with SQLite's busy timeout at ``wait_ms``.

    The connection's own timeout is zero, for the statements that run on the loop; here,
    off the loop, a locked file is waited for (SQLite retries the lock until the timeout).
    """
    connection.execute(f"PRAGMA busy_timeout = {wait_ms:d}")
    try:
        return work(*args, **kw)
    finally:
        connection.execute("PRAGMA busy_timeout = 0")


def _is_busy(error: BaseException) -> bool:
    """SQLITE_BUSY in any of its extended forms: a lock SQLite could not take at once."""
    return (
        isinstance(error, sqlite3.OperationalError)
        and getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
    )


class _OnLoopOrThreadCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._run(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._run(operation, seq_of_parameters, many=True)

    def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection: _OnLoopOrThreadConnection = self._adapt_connection  # type: ignore[assignment]
        # A bulk statement may take long: it always keeps the thread.
        run = connection.run_on_thread if many else connection.run
        try:
            outcome = run(_run_statement, operation, parameters, many=many)
        except Exception as error:
            # Raises the DBAPI's error, as SQLAlchemy's cursor does.
            connection._handle_exception(error)
        self._finish(outcome)

    def _finish(self, outcome: _Outcome) -> None:
        description, rows, lastrowid, rowcount = outcome
        if description:
            self.description = description
            self.lastrowid = self.rowcount = -1
            self._rows = deque(rows)
        else:
            self.description = None
            self.lastrowid = lastrowid
            self.rowcount = rowcount


class _OnLoopOrThreadConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_lock_wait_ms",)

    def __init__(self, dbapi: Any, connection: Any, lock_wait_ms: int) -> None:
        super().__init__(dbapi, connection)
        self._lock_wait_ms = lock_wait_ms

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return super().cursor(server_side=True)
        return _OnLoopOrThreadCursor(self)

    def commit(self) -> None:
        try:
            self.run(sqlite3.Connection.commit)
        except Exception as error:
            self._handle_exception(error)

    def rollback(self) -> None:
        try:
            self.run(sqlite3.Connection.rollback)
        except Exception as error:
            self._handle_exception(error)

    def run(self, work: Callable[..., _T], *args: Any, **kw: Any) -> _T:
        """``work(sqlite_connection, *args)`` on the loop if this task's block allows it, and
        on the connection's thread if not, or if a lock it needs is held elsewhere.

        A statement or a commit that meets SQLITE_BUSY has done nothing (SQLite took no lock
        and changed no row), so the thread runs it again from the start, waiting for the lock.
        """
        if _on_loop.get():
            try:
                return work(self._connection._conn, *args, **kw)
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
        return self.run_on_thread(work, *args, **kw)

    def run_on_thread(self, work: Callable[..., _T], *args: Any, **kw: Any) -> _T:
        """``work(sqlite_connection, *args)`` on the connection's thread, waiting for locks."""
        connection = self._connection
        # aiosqlite's queue to its thread, as SQLAlchemy's own adapter reaches it for
        # isolation levels.
        call = connection._execute(
            _waiting_for_locks,
            connection._conn,
            self._lock_wait_ms,
            work,
            connection._conn,
            *args,
            **kw,
        )
        result: _T = self.await_(call)
        return result


class OnLoopAiosqlite(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module for ``create_async_engine(..., module=OnLoopAiosqlite())``."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> _OnLoopOrThreadConnection:
        lock_wait_ms = round(1000 * kw.pop("timeout", _DEFAULT_LOCK_WAIT_SECONDS))
        # Used from the loop and from its own thread, never from both at once: a statement
        # handed to the thread is awaited before the connection is used again.
        kw["check_same_thread"] = False
        kw["timeout"] = 0
        adapted = super().connect(*arg, **kw)
        return _OnLoopOrThreadConnection(self, adapted._connection, lock_wait_ms)
