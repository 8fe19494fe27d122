"""The Cloud Marketplace (CloudBlue SimpleAPI 1.15) client: one instance per marketplace.

Login is ``POST /token`` with the user's HTTP Basic credentials and the installation's
``X-Subscription-Key`` (body ``{"marketplace": code}``), then ``GET /resellers`` to learn the
user's reseller account. The result is a :class:`MarketplaceSession` that renews its token
before it lapses. Wrong credentials raise :class:`InvalidCredentials`; a marketplace that cannot
be reached raises :class:`MarketplaceUnreachable` — never one for the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx

from psasync.adapters.http import RetryPolicy
from psasync.adapters.marketplace.auth import (
    DEFAULT_RENEW_MARGIN,
    AccessToken,
    Credentials,
    TokenKeeper,
)
from psasync.adapters.marketplace.errors import (
    InvalidCredentials,
    UnexpectedResponse,
    correlation_id,
    error_for,
    log_error,
    vendor_message,
)
from psasync.adapters.marketplace.gateway import Gateway, decode
from psasync.adapters.marketplace.mapping import Unreadable, read_model
from psasync.adapters.marketplace.models import VendorTokenInfo
from psasync.adapters.marketplace.session import MarketplaceSession, Reader, own_reseller

DEFAULT_PAGE_SIZE = 100
LOGIN_CALL = "POST /token"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MarketplaceClient:
    """Logs reseller users in to one marketplace (``base_url``, e.g. ``…/marketplace/us``).

    ``http`` is injected (tests pass one on ``httpx.ASGITransport``); ``now`` is the clock token
    expiry is judged by; ``page_size`` the ``limit`` asked per page.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        code: str,
        subscription_key: str,
        retry: RetryPolicy | None = None,
        now: Callable[[], dt.datetime] = _utc_now,
        page_size: int = DEFAULT_PAGE_SIZE,
        renew_margin: dt.timedelta = DEFAULT_RENEW_MARGIN,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"a page holds at least one item, not {page_size}")
        self.code = code
        self._gateway = Gateway(
            http,
            base_url=base_url,
            subscription_key=subscription_key,
            retry=retry or RetryPolicy(),
        )
        self._now = now
        self._page_size = page_size
        self._renew_margin = renew_margin

    def __repr__(self) -> str:
        return f"MarketplaceClient(code={self.code!r}, base_url={self._gateway.base_url!r})"

    @property
    def base_url(self) -> str:
        return self._gateway.base_url

    async def login(self, *, username: str, password: str) -> MarketplaceSession:
        """A session for this user, with a token and the user's reseller account."""
        if not username.strip() or not password:
            raise InvalidCredentials(
                "invalid marketplace credentials: a username and a password are needed"
            )
        credentials = Credentials(username=username, password=password)

        async def issue() -> AccessToken:
            return await self._issue_token(credentials)

        tokens = TokenKeeper(issue, now=self._now, margin=self._renew_margin)
        await tokens.current()
        reader = Reader(gateway=self._gateway, tokens=tokens, page_size=self._page_size)
        reseller = await own_reseller(reader, marketplace=self.code)
        return MarketplaceSession(reader=reader, reseller=reseller)

    async def _issue_token(self, credentials: Credentials) -> AccessToken:
        # Stamped before sending: the token cannot live longer than counted from here.
        issued_at = self._now()
        response = await self._gateway.send(
            "POST",
            "/token",
            authorization=credentials.basic_authorization(),
            body={"marketplace": self.code},
        )
        if response.status_code == 401:
            refused = InvalidCredentials(
                f"invalid marketplace credentials: {vendor_message(response)}",
                status=401,
                correlation_id=correlation_id(response),
            )
            log_error(refused, operation=LOGIN_CALL)
            raise refused
        if response.is_error:
            raise error_for(response, operation=LOGIN_CALL)
        answer = decode(response, operation=LOGIN_CALL)
        try:
            info = read_model(VendorTokenInfo, answer.body)
        except Unreadable as problem:
            error = UnexpectedResponse(
                f"{LOGIN_CALL} answered an unusable token: {problem}",
                correlation_id=answer.correlation_id,
            )
            log_error(error, operation=LOGIN_CALL)
            raise error from None
        lifetime = dt.timedelta(seconds=info.expires_in_seconds)
        return AccessToken(value=info.token, issued_at=issued_at, expires_at=issued_at + lifetime)
