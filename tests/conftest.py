"""Test-suite settings shared by every layer."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from psasync.store import Database

# The database backends of the ``database`` fixture (tests.databases is imported only by the tests
# that use it: the domain tests need no database driver).
DATABASE_BACKENDS = ("sqlite", "postgresql")

# Property tests must not flake on a slow or busy machine: no per-example deadline.
settings.register_profile("default", deadline=None)
# A deeper search, run on demand: HYPOTHESIS_PROFILE=thorough make unit
settings.register_profile(
    "thorough", deadline=None, max_examples=3000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (``@pytest.mark.anyio``) run on asyncio, like the product."""
    return "asyncio"


@pytest.fixture(params=DATABASE_BACKENDS, ids=DATABASE_BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database: the test runs once on SQLite and once on PostgreSQL."""
    from tests.databases import open_database

    async with open_database(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture(scope="session", autouse=True)
def _close_test_databases() -> Iterator[None]:
    """The session's test databases (made on first use) are dropped at the end."""
    yield
    databases = sys.modules.get("tests.databases")
    if databases is not None:
        databases.close_test_databases()
