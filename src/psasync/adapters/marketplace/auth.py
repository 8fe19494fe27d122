"""Login material: the user's credentials and the bearer token ``POST /token`` issues.

A token lives ``expiresInSeconds`` (1500 on the real gateway). :class:`TokenKeeper` renews it a
margin before it lapses, so a call never goes out with a token about to expire, and renews it on
demand when the marketplace refuses one that should still have been valid (a restarted gateway,
a clock that drifted). Concurrent calls share one renewal.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

DEFAULT_RENEW_MARGIN = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Credentials:
    """A reseller user's API login. The password never appears in a repr."""

    username: str
    password: str = field(repr=False)

    def basic_authorization(self) -> str:
        """The ``Authorization`` header value of HTTP Basic (RFC 7617, UTF-8)."""
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and the instants it was issued and lapses (UTC-aware)."""

    value: str = field(repr=False)
    issued_at: dt.datetime
    expires_at: dt.datetime

    def needs_renewal(self, now: dt.datetime, *, margin: dt.timedelta) -> bool:
        """Whether the token is lapsed or within ``margin`` of lapsing.

        The margin is capped at a quarter of the token's lifetime, so a short-lived token is
        still used for most of its life rather than renewed on every call.
        """
        lead = min(margin, (self.expires_at - self.issued_at) / 4)
        return now >= self.expires_at - lead

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value."""
        return f"Bearer {self.value}"


class TokenKeeper:
    """Holds the current token; renews it ahead of expiry or when told it was refused."""

    def __init__(
        self,
        issue: Callable[[], Awaitable[AccessToken]],
        *,
        now: Callable[[], dt.datetime],
        margin: dt.timedelta = DEFAULT_RENEW_MARGIN,
    ) -> None:
        self._issue = issue
        self._now = now
        self._margin = margin
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        lapses = self._token.expires_at.isoformat() if self._token else "no token yet"
        return f"TokenKeeper(expires_at={lapses})"

    async def current(self) -> AccessToken:
        """A token good for at least the renewal margin, issuing a new one if needed."""
        token = self._token
        if token is not None and not token.needs_renewal(self._now(), margin=self._margin):
            return token
        async with self._lock:
            # Another call may have renewed it while this one waited for the lock.
            token = self._token
            if token is None or token.needs_renewal(self._now(), margin=self._margin):
                token = self._token = await self._issue()
            return token

    async def renew(self, refused: AccessToken) -> AccessToken:
        """A new token in place of ``refused``; one renewal however many calls saw it refused."""
        async with self._lock:
            if self._token is refused or self._token is None:
                self._token = await self._issue()
            return self._token
