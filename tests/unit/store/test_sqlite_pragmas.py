"""SQLite connections run in WAL with synchronous=NORMAL and foreign keys on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from psasync.store import Database

pytestmark = pytest.mark.anyio


async def test_every_sqlite_connection_is_in_wal_with_normal_sync(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with database.engine.connect() as connection:
            journal = await connection.scalar(text("PRAGMA journal_mode"))
            synchronous = await connection.scalar(text("PRAGMA synchronous"))
            foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
        assert (journal, synchronous, foreign_keys) == ("wal", 1, 1)  # 1 is NORMAL
    finally:
        await database.dispose()
