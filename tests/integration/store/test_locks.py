"""Tenant locks in the database: one holder per tenant and purpose, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from psasync.store import Database
from psasync.store.locks import claim_lock, release_lock
from tests.integration.store.rows import add_tenant, at

pytestmark = pytest.mark.anyio


async def claim(database: Database, tenant_id: int, holder: str, *, minute: int = 0) -> bool:
    async with database.session() as session:
        return await claim_lock(
            session,
            tenant_id=tenant_id,
            purpose="check-changes",
            holder=holder,
            held_by="someone",
            now=at(minute),
            until=at(minute + 15),
        )


async def release(database: Database, tenant_id: int, holder: str) -> None:
    async with database.session() as session:
        await release_lock(session, tenant_id=tenant_id, purpose="check-changes", holder=holder)


async def test_a_held_lock_refuses_a_second_holder_until_released(database: Database) -> None:
    tenant = await add_tenant(database)
    assert await claim(database, tenant, "first")
    assert not await claim(database, tenant, "second")
    await release(database, tenant, "second")  # not its lock: nothing happens
    assert not await claim(database, tenant, "second", minute=14)
    await release(database, tenant, "first")
    assert await claim(database, tenant, "second")


async def test_a_crashed_holders_lease_lapses(database: Database) -> None:
    tenant = await add_tenant(database)
    assert await claim(database, tenant, "crashed")
    assert not await claim(database, tenant, "next", minute=14)
    assert await claim(database, tenant, "next", minute=15)
    assert not await claim(database, tenant, "third", minute=16)


async def test_locks_are_per_tenant(database: Database) -> None:
    one, two = await add_tenant(database, "1000001"), await add_tenant(database, "1000002")
    assert await claim(database, one, "a")
    assert await claim(database, two, "b")


async def test_of_many_simultaneous_claims_exactly_one_wins(database: Database) -> None:
    tenant = await add_tenant(database)
    won = await asyncio.gather(*(claim(database, tenant, f"h{n}") for n in range(8)))
    assert sum(won) == 1
