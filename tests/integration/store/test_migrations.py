"""Migrations bring an empty database to the schema of the models, on SQLite and PostgreSQL."""

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, select

from psasync.store import Database, Tenant
from psasync.store.models import Base, owned_by_psasync
from tests import conftest, databases
from tests.integration.store.rows import add_tenant

pytestmark = pytest.mark.anyio


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_name": owned_by_psasync,
        },
    )
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_is_the_models_schema(database: Database) -> None:
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_every_table_of_the_models_exists(database: Database) -> None:
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    tables = {name for name in tables if owned_by_psasync(name, "table")}
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


async def test_the_database_is_at_the_head_revision(database: Database) -> None:
    assert await database.revision() == Database.head()


async def test_upgrading_again_changes_nothing_and_keeps_the_rows(database: Database) -> None:
    tenant_id = await add_tenant(database)
    await database.upgrade()
    await database.upgrade()
    assert await database.revision() == Database.head()
    async with database.session() as session:
        assert list(await session.scalars(select(Tenant.id))) == [tenant_id]


async def test_a_new_database_has_no_revision_until_upgraded(tmp_path: Path) -> None:
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert await fresh.revision() is None
        await fresh.upgrade()
        assert await fresh.revision() == Database.head()
    finally:
        await fresh.dispose()


def test_the_fixture_and_the_helper_know_the_same_backends() -> None:
    assert conftest.DATABASE_BACKENDS == databases.BACKENDS


async def test_the_helper_refuses_an_unknown_backend(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no test database for 'mysql'"):
        async with databases.open_database("mysql", tmp_path):
            pass  # pragma: no cover
