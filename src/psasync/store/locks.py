"""Tenant locks in the database: one holder per tenant and purpose across every process.

A claim is one conditional upsert — insert the row, or take it over where the current lease
has lapsed — so two processes claiming at once cannot both win. The holder releases it by its
token; a holder that crashed leaves a lease that lapses on its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.store.models import TenantLock


async def claim_lock(
    session: AsyncSession,
    *,
    tenant_id: int,
    purpose: str,
    holder: str,
    held_by: str,
    now: dt.datetime,
    until: dt.datetime,
) -> bool:
    """Whether ``holder`` now holds the lock (it was free, or its last lease had lapsed)."""
    values = {
        "tenant_id": tenant_id,
        "purpose": purpose,
        "holder": holder,
        "held_by": held_by,
        "acquired_at": now,
        "held_until": until,
    }
    insert: Any = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    statement = (
        insert(TenantLock)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[TenantLock.tenant_id, TenantLock.purpose],
            set_={
                name: values[name] for name in ("holder", "held_by", "acquired_at", "held_until")
            },
            where=TenantLock.held_until <= now,
        )
        .returning(TenantLock.holder)
    )
    # No row comes back when the conflict's condition fails: someone else holds a live lease.
    winner: str | None = await session.scalar(statement)
    return winner == holder


async def release_lock(session: AsyncSession, *, tenant_id: int, purpose: str, holder: str) -> None:
    """Let the lock go, if ``holder`` still holds it."""
    await session.execute(
        delete(TenantLock).where(
            TenantLock.tenant_id == tenant_id,
            TenantLock.purpose == purpose,
            TenantLock.holder == holder,
        )
    )
