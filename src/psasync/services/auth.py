"""Logging in with Cloud Marketplace credentials: the marketplace authenticates, psasync
remembers which reseller account (tenant) the user belongs to and opens a stored session."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from psasync.adapters.marketplace import (
    AccessDenied,
    Credentials,
    InvalidCredentials,
    MarketplaceError,
    MarketplaceSession,
    MarketplaceUnreachable,
    ResellerAccount,
)
from psasync.services import sessions
from psasync.services.actor import Actor
from psasync.services.context import Services
from psasync.services.errors import Forbidden, NotAuthenticated, UpstreamFailed
from psasync.services.sessions import UserSession
from psasync.store import tenants

log = logging.getLogger(__name__)


async def login(
    services: Services, *, marketplace: str, username: str, password: str
) -> UserSession:
    """Authenticate at the marketplace, record the tenant and open a stored session.

    Wrong credentials → :class:`NotAuthenticated`; a marketplace that cannot be reached →
    :class:`UpstreamFailed`, so the user can tell a typo from an outage.
    """
    credentials = Credentials(username=username, password=password)
    client = sessions.session_client(services, marketplace)
    with marketplace_errors():
        marketplace_session, tokens = await client.open(credentials)
    tenant_id = await record_tenant(services, marketplace_session.reseller)
    user = await sessions.open_session(
        services,
        tenant_id=tenant_id,
        credentials=credentials,
        marketplace_session=marketplace_session,
        tokens=tokens,
    )
    log.info("user logged in to %s as reseller %s", user.marketplace, user.reseller_id)
    return user


async def login_actor(
    services: Services, *, marketplace: str, username: str, password: str
) -> Actor:
    """The actor of a one-off login (the CLI): the tenant is recorded, no session is stored."""
    marketplace_session = await marketplace_login(
        services, marketplace=marketplace, username=username, password=password
    )
    tenant_id = await record_tenant(services, marketplace_session.reseller)
    return Actor(tenant_id=tenant_id, name=username, marketplace=marketplace_session)


async def record_tenant(services: Services, reseller: ResellerAccount) -> int:
    """The reseller account's tenant id, created on its first login, its name kept current."""
    async with services.db.session() as session:
        tenant = await tenants.upsert_tenant(
            session,
            marketplace=reseller.marketplace,
            reseller_id=reseller.id,
            name=reseller.name,
            currency=reseller.currency,
            now=services.now(),
        )
        return tenant.id


async def marketplace_login(
    services: Services, *, marketplace: str, username: str, password: str
) -> MarketplaceSession:
    """A marketplace session for these credentials (no psasync session is opened)."""
    client = services.marketplace_client(marketplace)
    with marketplace_errors():
        return await client.login(username=username, password=password)


@contextmanager
def marketplace_errors() -> Iterator[None]:
    """A login's vendor errors as the use cases' errors."""
    try:
        yield
    except InvalidCredentials:
        raise NotAuthenticated(
            "Invalid marketplace credentials: check the username and password.",
            code="InvalidCredentials",
        ) from None
    except AccessDenied as error:
        raise Forbidden(
            f"The marketplace refused this account: {error.message}", code="AccessDenied"
        ) from None
    except MarketplaceUnreachable as error:
        raise UpstreamFailed(
            f"The Cloud Marketplace cannot be reached right now: {error.message}",
            code="MarketplaceUnreachable",
            details={"vendor": "Cloud Marketplace"},
        ) from None
    except MarketplaceError as error:
        raise UpstreamFailed(
            f"The Cloud Marketplace could not log you in: {error.message}",
            code="MarketplaceError",
            details={"vendor": "Cloud Marketplace", "correlationId": error.correlation_id},
        ) from None


async def logout(services: Services, session_id: str) -> None:
    """End the session everywhere: its row is deleted."""
    await sessions.close_session(services, session_id)
