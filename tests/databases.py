"""Migrated databases for tests, on SQLite and on PostgreSQL.

SQLite: a fresh file per test, copied from one migrated in this session, then upgraded (a no-op
that checks the revision) — migrating every file anew would cost most of a test's time.
PostgreSQL: the local server (``PSASYNC_TEST_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``), started once if it is down; one uniquely named
database per test session, migrated once, emptied before every test and dropped at the end.
If PostgreSQL is not installed the PostgreSQL tests are skipped with the reason.

``open_database(backend, directory)`` gives a clean, migrated :class:`Database` to any test;
the ``database`` fixture of ``tests/conftest.py`` runs a test on both backends, and the session
ends with ``close_test_databases()``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from psasync.store import Database
from psasync.store.models import Base

BACKENDS = ("sqlite", "postgresql")  # as the `database` fixture of tests/conftest.py
POSTGRES_URL_VARIABLE = "PSASYNC_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_INSTALL = Path("/etc/postgresql")
START_COMMAND = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_TIMEOUT = 30.0


@asynccontextmanager
async def open_database(backend: str, directory: Path) -> AsyncIterator[Database]:
    """A migrated database with no rows, disposed on exit: ``"sqlite"`` (a new file in
    ``directory``) or ``"postgresql"`` (the session's test database, emptied)."""
    if backend == "sqlite":
        path = directory / "psasync-test.db"
        shutil.copyfile(await SQLITE.template(), path)
        database = Database(f"sqlite:///{path}")
        try:
            await database.upgrade()
            yield database
        finally:
            await database.dispose()
    elif backend == "postgresql":
        database = Database(await POSTGRES.url())
        try:
            await empty_tables(database)
            yield database
        finally:
            await database.dispose()
    else:
        raise ValueError(f"no test database for {backend!r}; choose one of {BACKENDS}")


async def empty_tables(database: Database) -> None:
    """Delete every row of every psasync table (PostgreSQL), restarting the id sequences."""
    preparer = database.engine.dialect.identifier_preparer
    tables = ", ".join(preparer.format_table(table) for table in Base.metadata.sorted_tables)
    async with database.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE"))
        # The job queue's tables, where a test installed them: no job outlives its test.
        queue = await connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE tablename LIKE 'procrastinate%'")
        )
        names = ", ".join(preparer.quote(name) for name in queue)
        if names:
            await connection.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))


def close_test_databases() -> None:
    """End of the session: drop the PostgreSQL database and the SQLite template, if made."""
    POSTGRES.drop()
    SQLITE.drop()


class SqliteTemplate:
    """One migrated SQLite file per session, copied for every test."""

    def __init__(self) -> None:
        self._directory: Path | None = None

    async def template(self) -> Path:
        if self._directory is None:
            directory = Path(tempfile.mkdtemp(prefix="psasync-sqlite-"))
            database = Database(f"sqlite:///{directory / 'template.db'}")
            try:
                await database.upgrade()
            finally:
                await database.dispose()  # the last connection folds the WAL into the file
            self._directory = directory
        return self._directory / "template.db"

    def drop(self) -> None:
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None


class PostgresTestDatabase:
    """The one PostgreSQL database of this test session: created and migrated on first use."""

    def __init__(self) -> None:
        self.admin_url = os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)
        self.name = f"psasync_test_{os.getpid()}_{secrets.token_hex(4)}"
        self._url: str | None = None
        self._created = False
        self._start_tried = False

    async def url(self) -> str:
        """The URL of the migrated session database (skips the test without PostgreSQL)."""
        if self._url is None:
            self._ensure_server()
            with self._admin() as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
            self._created = True
            url = make_url(self.admin_url).set(database=self.name)
            rendered = url.render_as_string(hide_password=False)
            database = Database(rendered)
            try:
                await database.upgrade()
            finally:
                await database.dispose()
            self._url = rendered
        return self._url

    def drop(self) -> None:
        """Drop the session database if this session made one."""
        if not self._created:
            return
        with self._admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )
        self._created, self._url = False, None

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        url = make_url(self.admin_url).set(drivername="postgresql")
        return psycopg.connect(
            url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
        )

    def _ensure_server(self) -> None:
        if self._accepts_connections():
            return
        if not POSTGRES_INSTALL.is_dir():
            pytest.skip(
                f"PostgreSQL is not installed ({POSTGRES_INSTALL} is missing) and "
                f"{self.admin_url} does not answer: PostgreSQL store tests skipped"
            )
        if not self._start_tried:
            self._start_tried = True
            subprocess.run(START_COMMAND, shell=True, check=False, capture_output=True)  # noqa: S602
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self._accepts_connections():
                    return
                time.sleep(0.2)
        raise RuntimeError(
            f"PostgreSQL at {self.admin_url} does not accept connections "
            f"(tried once to start it: {START_COMMAND})"
        )

    def _accepts_connections(self) -> bool:
        try:
            with self._admin() as admin:
                admin.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True


SQLITE = SqliteTemplate()
POSTGRES = PostgresTestDatabase()
