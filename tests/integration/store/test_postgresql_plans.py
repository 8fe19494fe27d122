"""PostgreSQL plans every statement for its own parameters (store/database.py): psycopg
prepares a statement on its fifth run, and PostgreSQL's generic plan for a task search guesses
500 matches whatever the text, reading every task's row for a broad search."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from psasync.store import Database

pytestmark = pytest.mark.anyio


async def test_every_connection_plans_for_the_parameters(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has no plan cache to steer")
    for _ in range(2):  # a fresh connection, then the same one back from the pool
        async with database.read() as session:
            mode = await session.scalar(text("SHOW plan_cache_mode"))
        assert mode == "force_custom_plan"
