"""Unattended access (DESIGN §7): the tenant's marketplace integration user.

A reseller opts into unattended work (scheduled checks, auto-sync, reconciliation) by giving an
API user of their marketplace account. It is checked against the marketplace before it is saved
(it must log in, and to this very reseller account), its password is stored sealed and never
shown again — the page and the API say only who set it and when — and it can be forgotten at
any time. Without one, nothing runs unattended: :func:`automation_actor` says so.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from psasync.adapters.marketplace import MarketplaceSession
from psasync.services import auth
from psasync.services.actor import AUTOMATION, Actor
from psasync.services.context import Services
from psasync.services.errors import Invalid, NotAuthenticated, NotFound
from psasync.store import IntegrationUser, Tenant
from psasync.store import automation as automation_store
from psasync.store import tenants as tenant_store

log = logging.getLogger(__name__)

NO_INTEGRATION_USER = (
    "Nothing runs unattended: no marketplace integration user is set. Scheduled checks, "
    "auto-sync and reconciliation read the Cloud Marketplace as that user, because psasync "
    "never keeps a person's password; set one on the automation page."
)


@dataclass(frozen=True)
class IntegrationUserView:
    """Who the integration user is and who set it, when; never its password."""

    username: str
    configured_at: dt.datetime
    configured_by: str

    @classmethod
    def of(cls, row: IntegrationUser) -> IntegrationUserView:
        return cls(
            username=row.username, configured_at=row.configured_at, configured_by=row.configured_by
        )


@dataclass(frozen=True)
class AutomationSettings:
    """The tenant's automation settings (for now: the integration user, or None)."""

    marketplace_user: IntegrationUserView | None

    @property
    def runs_unattended(self) -> bool:
        return self.marketplace_user is not None


async def automation_settings(services: Services, actor: Actor) -> AutomationSettings:
    """The tenant's automation settings."""
    async with services.db.session() as session:
        row = await automation_store.integration_user(session, actor.tenant_id)
        return AutomationSettings(IntegrationUserView.of(row) if row else None)


async def set_integration_user(
    services: Services, actor: Actor, *, username: str, password: str
) -> AutomationSettings:
    """Check the user against the marketplace (same reseller account), then store it sealed.

    Refused credentials or another reseller's user → :class:`Invalid`; nothing is stored.
    """
    box = services.box()
    tenant = await _tenant(services, actor.tenant_id)
    await _checked_login(services, tenant, username=username, password=password)
    async with services.db.session() as session:
        row = await automation_store.save_integration_user(
            session,
            actor.tenant_id,
            username=username,
            password_encrypted=box.seal(password),
            now=services.now(),
            by=actor.name,
        )
        view = IntegrationUserView.of(row)
    log.info(
        "marketplace integration user %s set for tenant %s by %s",
        username,
        actor.tenant_id,
        actor.name,
    )
    return AutomationSettings(view)


async def forget_integration_user(services: Services, actor: Actor) -> AutomationSettings:
    """Delete the integration user: from now on nothing runs unattended."""
    async with services.db.session() as session:
        forgotten = await automation_store.forget_integration_user(session, actor.tenant_id)
    if forgotten:
        log.info(
            "marketplace integration user forgotten for tenant %s by %s",
            actor.tenant_id,
            actor.name,
        )
    return AutomationSettings(None)


async def automation_actor(services: Services, tenant_id: int) -> Actor:
    """The actor of unattended work: the tenant, named ``automation``, reading the marketplace
    as the stored integration user. :class:`Invalid` (``NoIntegrationUser``) without one."""
    async with services.db.session() as session:
        row = await automation_store.integration_user(session, tenant_id)
        tenant = await tenant_store.get_tenant(session, tenant_id)
    if tenant is None:
        raise NotFound(f"no tenant {tenant_id}", code="NoTenant")
    if row is None:
        raise Invalid(NO_INTEGRATION_USER, code="NoIntegrationUser")
    password = services.box().open(row.password_encrypted)
    marketplace = await _checked_login(services, tenant, username=row.username, password=password)
    return Actor(tenant_id=tenant_id, name=AUTOMATION, marketplace=marketplace)


async def _tenant(services: Services, tenant_id: int) -> Tenant:
    async with services.db.session() as session:
        tenant = await tenant_store.get_tenant(session, tenant_id)
    if tenant is None:
        raise NotFound("the account is not known any more; log in again", code="NoTenant")
    return tenant


async def _checked_login(
    services: Services, tenant: Tenant, *, username: str, password: str
) -> MarketplaceSession:
    """A marketplace session of this user, which must belong to the tenant's reseller."""
    try:
        session = await auth.marketplace_login(
            services, marketplace=tenant.marketplace, username=username, password=password
        )
    except NotAuthenticated:
        raise Invalid(
            f"The Cloud Marketplace did not accept the integration user {username!r}: check "
            "its username and password.",
            code="InvalidCredentials",
            details={"field": "marketplaceUser"},
        ) from None
    reseller = session.reseller
    if reseller.id != tenant.reseller_id:
        raise Invalid(
            f"The integration user {username!r} belongs to another reseller account "
            f"({reseller.name}, {reseller.id}), not to {tenant.name} ({tenant.reseller_id}).",
            code="OtherReseller",
            details={"field": "marketplaceUser"},
        )
    return session
