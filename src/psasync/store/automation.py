"""The tenant's marketplace integration user (the password only ever stored sealed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.store.models import IntegrationUser


async def integration_user(session: AsyncSession, tenant_id: int) -> IntegrationUser | None:
    row: IntegrationUser | None = await session.scalar(
        select(IntegrationUser).where(IntegrationUser.tenant_id == tenant_id)
    )
    return row


async def save_integration_user(
    session: AsyncSession,
    tenant_id: int,
    *,
    username: str,
    password_encrypted: str,
    now: dt.datetime,
    by: str,
) -> IntegrationUser:
    """Set (or replace) the integration user, recording who set it and when."""
    row = await integration_user(session, tenant_id)
    if row is None:
        row = IntegrationUser(tenant_id=tenant_id)
        session.add(row)
    row.username = username
    row.password_encrypted = password_encrypted
    row.configured_at = now
    row.configured_by = by
    await session.flush()
    return row


async def forget_integration_user(session: AsyncSession, tenant_id: int) -> bool:
    """Delete the integration user; whether there was one."""
    result = await session.execute(
        delete(IntegrationUser).where(IntegrationUser.tenant_id == tenant_id)
    )
    return int(getattr(result, "rowcount", 0) or 0) > 0
