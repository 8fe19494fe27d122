"""Stored user sessions: found by the hash of their id, expired by idle time, purged as we go."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.store.models import UserSessionRow


async def add_session(session: AsyncSession, row: UserSessionRow) -> None:
    session.add(row)
    await session.flush()


async def live_session(
    session: AsyncSession, id_hash: str, *, now: dt.datetime
) -> UserSessionRow | None:
    """The session with this id hash, unless it has expired (then None)."""
    row: UserSessionRow | None = await session.scalar(
        select(UserSessionRow).where(
            UserSessionRow.id_hash == id_hash, UserSessionRow.expires_at > now
        )
    )
    return row


async def touch_session(
    session: AsyncSession, id_hash: str, *, now: dt.datetime, expires_at: dt.datetime
) -> None:
    """The user was seen now: the idle expiry moves on."""
    await session.execute(
        update(UserSessionRow)
        .where(UserSessionRow.id_hash == id_hash)
        .values(last_seen_at=now, expires_at=expires_at)
    )


async def store_token(
    session: AsyncSession,
    id_hash: str,
    *,
    token_encrypted: str,
    issued_at: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    """A renewed marketplace token (sealed) replaces the stored one."""
    await session.execute(
        update(UserSessionRow)
        .where(UserSessionRow.id_hash == id_hash)
        .values(
            token_encrypted=token_encrypted, token_issued_at=issued_at, token_expires_at=expires_at
        )
    )


async def delete_session(session: AsyncSession, id_hash: str) -> None:
    await session.execute(delete(UserSessionRow).where(UserSessionRow.id_hash == id_hash))


async def purge_expired(session: AsyncSession, *, now: dt.datetime) -> int:
    """Delete every session past its expiry; how many went."""
    result = await session.execute(delete(UserSessionRow).where(UserSessionRow.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
