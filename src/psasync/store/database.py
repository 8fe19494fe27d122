"""The database: engine and sessions from a URL, and migrations to the current schema."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from psasync.store.sqlite_driver import OnLoopAiosqlite, statements_on_loop

MIGRATIONS = Path(__file__).with_name("migrations")

# The async driver for each database a URL may name without one (``postgres`` is the short
# scheme many hosts hand out; SQLAlchemy no longer knows it by that name).
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}


class DatabaseError(RuntimeError):
    """The database URL is unusable or the schema is not the one this version needs."""


def async_url(url: str) -> str:
    """The URL with an async driver: ``postgresql://`` → ``postgresql+psycopg://``."""
    try:
        parsed = make_url(url)
    except Exception as error:  # SQLAlchemy raises ArgumentError with the URL in it
        raise DatabaseError(f"PSASYNC_DATABASE_URL is not a database URL: {error}") from None
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise DatabaseError(
            f"PSASYNC_DATABASE_URL names {backend!r}; psasync runs on sqlite or postgresql"
        )
    if parsed.drivername in ("sqlite", "postgresql", "postgres"):
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[backend])
    return parsed.render_as_string(hide_password=False)


class Database:
    """One engine and its session factory. ``await db.upgrade()`` migrates to the head."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        options: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            # Concurrent writers wait for the lock rather than fail at once (on the
            # connection's thread: store/sqlite_driver.py).
            options["connect_args"] = {"timeout": 30}
            if make_url(self.url).get_driver_name() == "aiosqlite":
                options["module"] = OnLoopAiosqlite()
        else:
            options.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            event.listen(self.engine.sync_engine, "connect", _postgresql_settings)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._turns: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error.

        On SQLite, transactions of this process take turns: SQLite has one writer at a time,
        and a writer that finds the file locked sleeps in steps of up to 100 ms, which under
        concurrent syncs costs far more than waiting here. Sessions never nest. Its statements
        run on the event loop (store/sqlite_driver.py): they take microseconds, and one that
        meets another process's lock waits for it on the connection's thread.
        """
        if self._turns is None:
            async with self.sessions() as session, session.begin():
                yield session
            return
        with statements_on_loop():
            async with self._turns, self.sessions() as session, session.begin():
                yield session

    @asynccontextmanager
    async def read(self, *, scans: bool = False) -> AsyncIterator[AsyncSession]:
        """A session for reading only, which never waits for a turn.

        In WAL mode SQLite's readers run beside its one writer, so a read need not queue behind
        this process's writes (a preview or a sync's plan reads while other syncs journal).
        Nothing is ever written through it: it does not flush by itself and its transaction is
        rolled back when the block ends, whatever was changed in it.

        On SQLite its statements run on the event loop, as a session's do, unless the read
        ``scans``: a search over every task may take tens of milliseconds, which the loop
        should spend serving other requests while the connection's thread reads.
        """
        with statements_on_loop(self.is_sqlite and not scans):
            async with self.sessions(autoflush=False) as session:
                yield session
                # Closing rolls the transaction back and keeps the objects read usable (a
                # rollback would expire them).

    async def upgrade(self) -> None:
        """Apply every migration not yet applied (safe to run on every start)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(_upgrade)

    async def revision(self) -> str | None:
        """The revision the database is at, None before the first migration."""
        async with self.engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )

    @staticmethod
    def head() -> str:
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        if head is None:
            raise DatabaseError("psasync ships no migrations")
        return head

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL, NORMAL syncs at checkpoints, not at every commit: a commit stays atomic and the
    # file consistent; only the last commits before a power loss (not a crash) may be lost.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # SQLite's own lower() folds ASCII only: a search for "müller" would miss "MÜLLER".
    connection.create_function("lower", 1, _lower, deterministic=True)


def _postgresql_settings(connection: Any, _record: Any) -> None:
    """Plan every statement for its own parameters (``plan_cache_mode``).

    psycopg prepares a statement on its fifth run; PostgreSQL then plans it once for any
    parameters. For a task search that generic plan guesses 500 matches whatever the text, and
    a one-letter search (65,260 of 100,000 tasks) read every row's heap: 500–940 ms instead of
    29 ms counted from the tenant's search index (docs/performance.md). Planning these
    statements costs well under a millisecond.
    """
    autocommit = connection.autocommit
    connection.autocommit = True  # a SET in a transaction would be rolled back with it
    cursor = connection.cursor()
    cursor.execute("SET plan_cache_mode = force_custom_plan")
    cursor.close()
    connection.autocommit = autocommit


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")
