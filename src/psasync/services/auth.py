"""Logging in with Cloud Marketplace credentials: the marketplace authenticates, psasync
remembers only which reseller account (tenant) the user belongs to."""

from __future__ import annotations

import logging

from psasync.adapters.marketplace import (
    AccessDenied,
    InvalidCredentials,
    MarketplaceError,
    MarketplaceSession,
    MarketplaceUnreachable,
)
from psasync.services.context import Services
from psasync.services.errors import Forbidden, NotAuthenticated, UpstreamFailed
from psasync.services.sessions import UserSession
from psasync.store import tenants

log = logging.getLogger(__name__)


async def login(
    services: Services, *, marketplace: str, username: str, password: str
) -> UserSession:
    """Authenticate at the marketplace, record the tenant and open a session.

    Wrong credentials → :class:`NotAuthenticated`; a marketplace that cannot be reached →
    :class:`UpstreamFailed`, so the user can tell a typo from an outage.
    """
    marketplace_session = await marketplace_login(
        services, marketplace=marketplace, username=username, password=password
    )
    reseller = marketplace_session.reseller
    async with services.db.session() as session:
        tenant = await tenants.upsert_tenant(
            session,
            marketplace=reseller.marketplace,
            reseller_id=reseller.id,
            name=reseller.name,
            currency=reseller.currency,
            now=services.now(),
        )
        tenant_id = tenant.id
    log.info("user logged in to %s as reseller %s", reseller.marketplace, reseller.id)
    return services.sessions.open(
        tenant_id=tenant_id, username=username, marketplace_session=marketplace_session
    )


async def marketplace_login(
    services: Services, *, marketplace: str, username: str, password: str
) -> MarketplaceSession:
    client = services.marketplace_client(marketplace)
    try:
        return await client.login(username=username, password=password)
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


def logout(services: Services, session_id: str) -> None:
    services.sessions.close(session_id)
