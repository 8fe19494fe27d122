"""Logged-in reseller users, kept in memory only.

The marketplace session (its token, and the credentials it renews that token with) never
leaves this process: psasync stores no passwords. A restart logs everyone out.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from psasync.adapters.marketplace import MarketplaceSession
from psasync.services.actor import Actor

DEFAULT_IDLE_TIMEOUT = dt.timedelta(hours=8)


@dataclass
class UserSession:
    """Who is logged in, for which tenant, with their live marketplace session."""

    id: str
    tenant_id: int
    username: str
    marketplace: str
    reseller_id: str
    reseller_name: str
    marketplace_session: MarketplaceSession = field(repr=False)
    csrf_token: str = field(repr=False)
    last_seen: dt.datetime

    @property
    def actor(self) -> Actor:
        """The user as the use cases see them: tenant, name and marketplace access."""
        return Actor(
            tenant_id=self.tenant_id, name=self.username, marketplace=self.marketplace_session
        )


class SessionRegistry:
    """Sessions by their random id; idle ones expire."""

    def __init__(
        self,
        *,
        now: Callable[[], dt.datetime],
        idle_timeout: dt.timedelta = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        self._now = now
        self._idle_timeout = idle_timeout
        self._sessions: dict[str, UserSession] = {}

    def open(
        self,
        *,
        tenant_id: int,
        username: str,
        marketplace_session: MarketplaceSession,
    ) -> UserSession:
        self._forget_idle()
        reseller = marketplace_session.reseller
        session = UserSession(
            id=secrets.token_urlsafe(32),
            tenant_id=tenant_id,
            username=username,
            marketplace=reseller.marketplace,
            reseller_id=reseller.id,
            reseller_name=reseller.name,
            marketplace_session=marketplace_session,
            csrf_token=secrets.token_urlsafe(32),
            last_seen=self._now(),
        )
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> UserSession | None:
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._now()
        if now - session.last_seen > self._idle_timeout:
            del self._sessions[session_id]
            return None
        session.last_seen = now
        return session

    def close(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _forget_idle(self) -> None:
        cutoff = self._now() - self._idle_timeout
        for session_id in [s.id for s in self._sessions.values() if s.last_seen < cutoff]:
            del self._sessions[session_id]
