"""Logged-in reseller users, kept in the database (DESIGN §7).

A session row holds the SHA-256 of the session id (never the id), who is logged in, the CSRF
token, when it was created and last seen, and the marketplace token sealed with the secret
key. The password that renews that token is never stored: it travels sealed in the signed
cookie (``UserSession.renewal``), and is opened only when the stored token has to be renewed.
So any process serves any user, a restart logs no one out, and neither a leaked database nor a
stolen cookie alone reveals the password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from psasync.adapters.marketplace import (
    AccessToken,
    Credentials,
    InvalidCredentials,
    MarketplaceClient,
    MarketplaceSession,
    ResellerAccount,
    TokenKeeper,
)
from psasync.adapters.marketplace.session import Reader, own_reseller
from psasync.services.actor import Actor
from psasync.services.context import Services
from psasync.services.errors import BadRequest
from psasync.store import SecretKeyError, UserSessionRow
from psasync.store import sessions as session_store

log = logging.getLogger(__name__)

DEFAULT_IDLE_TIMEOUT = dt.timedelta(hours=8)
# A session's last-seen time is written at most this often (not on every request).
TOUCH_INTERVAL = dt.timedelta(minutes=1)


def id_hash(session_id: str) -> str:
    """What the database knows a session by: the SHA-256 of its id, in hex."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class TokenSource:
    """What a session's token keeper asks for a token: the stored token while it is good, then
    new ones from the credentials (opened only then). Remembers the last one it issued, so the
    caller can store a renewed token back."""

    def __init__(
        self,
        issue: Callable[[Credentials], Awaitable[AccessToken]],
        credentials: Callable[[], Credentials],
        *,
        stored: AccessToken | None,
        now: Callable[[], dt.datetime],
        margin: dt.timedelta,
    ) -> None:
        self._issue = issue
        self._credentials = credentials
        self._stored = stored
        self._now = now
        self._margin = margin
        self.issued: AccessToken | None = None

    def __repr__(self) -> str:
        return "TokenSource(<hidden>)"

    async def __call__(self) -> AccessToken:
        stored, self._stored = self._stored, None
        if stored is not None and not stored.needs_renewal(self._now(), margin=self._margin):
            return stored
        token = self.issued = await self._issue(self._credentials())
        return token


class SessionClient(MarketplaceClient):
    """The marketplace client of sessions: a login whose token can be stored, and a session
    resumed from a stored token that renews itself with the cookie's credentials."""

    def _session(self, source: TokenSource) -> tuple[Reader, TokenKeeper]:
        keeper = TokenKeeper(source, now=self._now, margin=self._renew_margin)
        return Reader(gateway=self._gateway, tokens=keeper, page_size=self._page_size), keeper

    def _source(
        self, credentials: Callable[[], Credentials], stored: AccessToken | None
    ) -> TokenSource:
        return TokenSource(
            self._issue_token, credentials, stored=stored, now=self._now, margin=self._renew_margin
        )

    async def open(self, credentials: Credentials) -> tuple[MarketplaceSession, TokenSource]:
        """Log in: a session with a fresh token (``source.issued``) and the user's reseller."""
        if not credentials.username.strip() or not credentials.password:
            raise InvalidCredentials(
                "invalid marketplace credentials: a username and a password are needed"
            )
        source = self._source(lambda: credentials, None)
        reader, keeper = self._session(source)
        await keeper.current()
        reseller = await own_reseller(reader, marketplace=self.code)
        return MarketplaceSession(reader=reader, reseller=reseller), source

    def resume(
        self,
        *,
        credentials: Callable[[], Credentials],
        token: AccessToken,
        reseller: ResellerAccount,
    ) -> tuple[MarketplaceSession, TokenSource]:
        """A session on a stored token; nothing is sent until the first read."""
        source = self._source(credentials, token)
        reader, _keeper = self._session(source)
        return MarketplaceSession(reader=reader, reseller=reseller), source


def session_client(services: Services, code: str) -> SessionClient:
    marketplace = services.marketplace_settings(code)
    return SessionClient(
        services.http,
        base_url=str(marketplace.url).rstrip("/"),
        code=marketplace.code,
        subscription_key=marketplace.subscription_key.get_secret_value(),
        retry=services.retry,
    )


@dataclass
class UserSession:
    """Who is logged in, for which tenant, with their marketplace session for this request.

    ``id`` is the session id the cookie carries (held in memory only); ``renewal`` the sealed
    password the cookie carries to renew the marketplace token.
    """

    id: str = field(repr=False)
    tenant_id: int
    username: str
    marketplace: str
    reseller_id: str
    reseller_name: str
    marketplace_session: MarketplaceSession = field(repr=False)
    csrf_token: str = field(repr=False)
    renewal: str = field(repr=False)
    last_seen: dt.datetime
    tokens: TokenSource = field(repr=False)
    stored_token: AccessToken | None = field(default=None, repr=False)

    @property
    def actor(self) -> Actor:
        """The user as the use cases see them: tenant, name and marketplace access."""
        return Actor(
            tenant_id=self.tenant_id, name=self.username, marketplace=self.marketplace_session
        )


async def open_session(
    services: Services,
    *,
    tenant_id: int,
    credentials: Credentials,
    marketplace_session: MarketplaceSession,
    tokens: TokenSource,
) -> UserSession:
    """Store a new session for a user who just logged in (expired sessions are purged)."""
    box = services.box()
    token = tokens.issued
    if token is None:  # the login issued one; a session without it cannot be resumed
        raise RuntimeError("a login without a token cannot open a session")
    reseller = marketplace_session.reseller
    now = services.now()
    user = UserSession(
        id=secrets.token_urlsafe(32),
        tenant_id=tenant_id,
        username=credentials.username,
        marketplace=reseller.marketplace,
        reseller_id=reseller.id,
        reseller_name=reseller.name,
        marketplace_session=marketplace_session,
        csrf_token=secrets.token_urlsafe(32),
        renewal=box.seal(credentials.password),
        last_seen=now,
        tokens=tokens,
        stored_token=token,
    )
    async with services.db.session() as session:
        await session_store.purge_expired(session, now=now)
        await session_store.add_session(
            session,
            UserSessionRow(
                id_hash=id_hash(user.id),
                tenant_id=tenant_id,
                username=user.username,
                marketplace=user.marketplace,
                reseller_id=user.reseller_id,
                reseller_name=user.reseller_name,
                csrf_token=user.csrf_token,
                token_encrypted=box.seal(token.value),
                token_issued_at=token.issued_at,
                token_expires_at=token.expires_at,
                created_at=now,
                last_seen_at=now,
                expires_at=now + services.session_idle,
            ),
        )
    return user


async def resume_session(
    services: Services, *, session_id: str, renewal: str
) -> UserSession | None:
    """The live session the cookie names, seen now; None if it is unknown or expired."""
    now = services.now()
    hashed = id_hash(session_id)
    async with services.db.session() as session:
        row = await session_store.live_session(session, hashed, now=now)
        if row is None:
            await session_store.purge_expired(session, now=now)
            return None
        if now - row.last_seen_at >= TOUCH_INTERVAL:
            await session_store.touch_session(
                session, hashed, now=now, expires_at=now + services.session_idle
            )
    try:
        return _resumed(services, row, session_id=session_id, renewal=renewal, now=now)
    except (SecretKeyError, BadRequest) as error:
        # The secret key changed, or the marketplace is no longer configured: log in again.
        log.warning("a stored session cannot be resumed: %s", error)
        return None


def _resumed(
    services: Services, row: UserSessionRow, *, session_id: str, renewal: str, now: dt.datetime
) -> UserSession:
    box = services.box()
    token = AccessToken(
        value=box.open(row.token_encrypted),
        issued_at=row.token_issued_at,
        expires_at=row.token_expires_at,
    )
    username = row.username

    def credentials() -> Credentials:
        return Credentials(username=username, password=box.open(renewal))

    reseller = ResellerAccount(
        id=row.reseller_id, name=row.reseller_name, marketplace=row.marketplace
    )
    marketplace_session, tokens = session_client(services, row.marketplace).resume(
        credentials=credentials, token=token, reseller=reseller
    )
    return UserSession(
        id=session_id,
        tenant_id=row.tenant_id,
        username=row.username,
        marketplace=row.marketplace,
        reseller_id=row.reseller_id,
        reseller_name=row.reseller_name,
        marketplace_session=marketplace_session,
        csrf_token=row.csrf_token,
        renewal=renewal,
        last_seen=now,
        tokens=tokens,
        stored_token=token,
    )


async def save_renewed_token(services: Services, user: UserSession) -> bool:
    """Store the marketplace token renewed during this request (sealed); whether there was one."""
    token = user.tokens.issued
    if token is None or token is user.stored_token:
        return False
    async with services.db.session() as session:
        await session_store.store_token(
            session,
            id_hash(user.id),
            token_encrypted=services.box().seal(token.value),
            issued_at=token.issued_at,
            expires_at=token.expires_at,
        )
    user.stored_token = token
    return True


async def close_session(services: Services, session_id: str) -> None:
    """Log out: the row is deleted, so the cookie opens nothing in any process."""
    async with services.db.session() as session:
        await session_store.delete_session(session, id_hash(session_id))
