"""SQLite through aiosqlite, one hand-off to its thread per statement.

aiosqlite runs each call on the connection's own thread, so the event loop never waits on the
file. SQLAlchemy's adapter makes four such calls for every statement (open a cursor, execute,
fetch the rows, close the cursor); each is a round trip to the thread and back through the event
loop, and together they cost more CPU than SQLite's own work for the statements psasync runs
(a sync's journal writes and a plan's reads; docs/performance.md). The cursor here does the four
steps in one call on the thread. Everything else — connecting, commits, errors, the pool — is
SQLAlchemy's aiosqlite dialect, unchanged: the engine is created with ``module=`` this adapter.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

# What one statement left behind: its description, its rows, lastrowid and rowcount.
_Outcome = tuple[Any, list[Any], Any, int]


def _run_statement(
    connection: sqlite3.Connection, operation: str, parameters: Any, *, many: bool
) -> _Outcome:
    """On the connection's thread: the whole of one statement, from cursor to rows."""
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


class _OneCallCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._finish(self._run(operation, parameters, many=False))

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._finish(self._run(operation, seq_of_parameters, many=True))

    def _run(self, operation: Any, parameters: Any, *, many: bool) -> _Outcome:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        # aiosqlite's queue to its thread, as SQLAlchemy's own adapter reaches it for
        # isolation levels: the statement runs on the thread that owns the connection.
        call = connection._execute(  # type: ignore[no-untyped-call]
            _run_statement, connection._conn, operation, parameters, many=many
        )
        try:
            outcome: _Outcome = self.await_(call)
        except Exception as error:
            # Raises the DBAPI's error, as SQLAlchemy's cursor does.
            self._adapt_connection._handle_exception(error)
        return outcome

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


class _OneCallConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return super().cursor(server_side=True)
        return _OneCallCursor(self)


class OneCallAiosqlite(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module for ``create_async_engine(..., module=OneCallAiosqlite())``."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> _OneCallConnection:
        adapted = super().connect(*arg, **kw)
        return _OneCallConnection(self, adapted._connection)
