"""The PSA integrations of a tenant: the ConnectWise tile and its connection settings."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from enum import StrEnum

from psasync.adapters.connectwise import (
    ConnectWiseAuthError,
    ConnectWiseClient,
    ConnectWiseError,
    ConnectWiseSite,
    SiteError,
    agreement_record_url,
    discover_codebase,
)
from psasync.adapters.connectwise.errors import ConnectWiseNotFound
from psasync.adapters.connectwise.psa import ConnectWisePsa
from psasync.adapters.connectwise.site import outbound_site_root
from psasync.adapters.http import AdapterError, RetryPolicy, Unreachable
from psasync.services.actor import Actor
from psasync.services.context import Services
from psasync.services.errors import Invalid, UpstreamFailed
from psasync.services.ports import PsaPort
from psasync.store import ConnectWiseSettings, SecretKeyError
from psasync.store import tenants as store

log = logging.getLogger(__name__)

# The settings check is interactive: the reseller waits for it, and a site that does not answer
# twice in a row (a mistyped or unknown host) is better reported at once than after a minute.
CHECK_ATTEMPTS = 2
CHECK_MAX_DELAY = 1.0


class IntegrationState(StrEnum):
    NOT_CONFIGURED = "not_configured"
    CONNECTED = "connected"
    ERROR = "error"


@dataclass(frozen=True)
class IntegrationTile:
    """One PSA on the PSA Integrations page."""

    id: str
    name: str
    state: IntegrationState
    message: str | None
    site_url: str | None = None
    company_id: str | None = None
    codebase: str | None = None

    def agreement_url(self, agreement_id: int) -> str | None:
        """The agreement's page in the ConnectWise screens, once the site is known."""
        if not (self.site_url and self.company_id and self.codebase):
            return None
        return agreement_record_url(
            self.site_url,
            codebase=self.codebase,
            agreement_id=agreement_id,
            company_id=self.company_id,
        )


@dataclass(frozen=True)
class ConnectWiseForm:
    """What the reseller enters on the settings form (the vendor's own names in the API)."""

    site_url: str
    company_id: str
    public_key: str
    private_key: str
    client_id: str

    def __repr__(self) -> str:
        return f"ConnectWiseForm(site_url={self.site_url!r}, company_id={self.company_id!r})"


async def integrations(services: Services, actor: Actor) -> list[IntegrationTile]:
    async with services.db.session() as session:
        stored = await store.connectwise_settings(session, actor.tenant_id)
    return [connectwise_tile(stored)]


def connectwise_tile(stored: ConnectWiseSettings | None) -> IntegrationTile:
    if stored is None:
        return IntegrationTile(
            id="connectwise",
            name="ConnectWise PSA",
            state=IntegrationState.NOT_CONFIGURED,
            message="Enter the API member's keys to connect.",
        )
    state = IntegrationState.ERROR if stored.last_error else IntegrationState.CONNECTED
    return IntegrationTile(
        id="connectwise",
        name="ConnectWise PSA",
        state=state,
        message=stored.last_error,
        site_url=stored.site_url,
        company_id=stored.company_id,
        codebase=stored.codebase,
    )


async def configure_connectwise(
    services: Services, actor: Actor, form: ConnectWiseForm
) -> IntegrationTile:
    """Check the keys against ConnectWise, then store them (private key encrypted).

    Refused keys, an unreachable site or unusable settings raise :class:`Invalid` with the
    reason, and the stored settings stay as they were.
    """
    box = services.box()
    site = _site(form)
    codebase = await _verify(services, site)
    now = services.now()
    async with services.db.session() as session:
        stored = await store.save_connectwise_settings(
            session,
            actor.tenant_id,
            {
                "site_url": site.root,
                "company_id": form.company_id.strip(),
                "public_key": form.public_key.strip(),
                "private_key_encrypted": box.seal(form.private_key.strip()),
                "client_id": form.client_id.strip(),
                "codebase": codebase,
                "verified_at": now,
                "last_error": None,
                "updated_at": now,
                "updated_by": actor.name,
            },
        )
        tile = connectwise_tile(stored)
    log.info("tenant %s connected ConnectWise company %s", actor.tenant_id, form.company_id)
    return tile


def _site(form: ConnectWiseForm) -> ConnectWiseSite:
    """The site of the form, refused before any network call if psasync may not send keys
    there (DESIGN.md §7) or a value cannot travel in a header."""
    try:
        return ConnectWiseSite(
            site_url=outbound_site_root(form.site_url),
            company_id=form.company_id.strip(),
            public_key=form.public_key.strip(),
            private_key=form.private_key.strip(),
            client_id=form.client_id.strip(),
        )
    except SiteError as error:
        raise Invalid(_sentence(str(error)), code="InvalidSettings") from None


def check_policy(services: Services) -> RetryPolicy:
    """The retry policy of the interactive settings check: short, the clock of ``services``."""
    return replace(
        services.retry,
        attempts=min(services.retry.attempts, CHECK_ATTEMPTS),
        max_delay=min(services.retry.max_delay, CHECK_MAX_DELAY),
    )


async def _verify(services: Services, site: ConnectWiseSite) -> str:
    policy = check_policy(services)
    try:
        codebase = await discover_codebase(services.http, site, policy=policy)
        client = ConnectWiseClient(services.http, site, codebase=codebase, policy=policy)
        await client.check_credentials()
    except ConnectWiseAuthError as error:
        raise Invalid(
            f"ConnectWise refused the keys: {error.message}", code="ConnectWiseAuthFailed"
        ) from None
    except (ConnectWiseError, AdapterError, SiteError) as error:
        raise _check_failed(site, error) from None
    return codebase


def _check_failed(site: ConnectWiseSite, error: Exception) -> Invalid:
    """Why the settings check failed, in the reseller's terms."""
    message = getattr(error, "message", str(error))
    if isinstance(error, ConnectWiseNotFound):
        return Invalid(
            f"{site.root} answered, but has no ConnectWise API there: check the site address "
            f"({message})",
            code="ConnectWiseNotFound",
        )
    if isinstance(error, ConnectWiseError) and error.status is not None:
        # The site answered and refused the request: the client id or company is wrong.
        return Invalid(f"ConnectWise refused these settings: {message}", code="ConnectWiseRefused")
    if isinstance(error, Unreachable) and _name_not_found(error):
        return Invalid(
            f"No host named {site.root.split('://', 1)[1]} was found: check the site address.",
            code="ConnectWiseUnknownHost",
        )
    return Invalid(
        f"ConnectWise could not be reached with these settings: {message}",
        code="ConnectWiseUnreachable",
    )


def _name_not_found(error: BaseException) -> bool:
    """Whether a DNS lookup failed somewhere in the chain of causes."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


async def psa_for(services: Services, tenant_id: int) -> PsaPort:
    """The tenant's PSA behind the port; :class:`Invalid` when not configured yet."""
    async with services.db.session() as session:
        stored = await store.connectwise_settings(session, tenant_id)
    if stored is None:
        raise not_configured()
    return psa_from(services, stored)


def not_configured() -> Invalid:
    return Invalid(
        "ConnectWise is not connected yet: enter its settings first.", code="NotConfigured"
    )


def psa_from(services: Services, stored: ConnectWiseSettings) -> PsaPort:
    """The PSA of settings already read (the stored key opened with the secret key)."""
    try:
        return ConnectWisePsa(services.connectwise_client(stored))
    except SecretKeyError as error:
        raise Invalid(str(error), code="SecretKeyChanged") from None


@asynccontextmanager
async def psa_errors(services: Services, tenant_id: int) -> AsyncIterator[None]:
    """Every use case's one translation of PSA failures: a vendor error inside the block
    becomes a 502 with the vendor's message, and refused keys are noted on the tile."""
    try:
        yield
    except AdapterError as error:
        await note_psa_error(services, tenant_id, error)
        raise upstream(error) from None


async def note_psa_error(services: Services, tenant_id: int, error: AdapterError) -> None:
    """Show an authentication failure on the tile until the keys are entered again."""
    if not isinstance(error, ConnectWiseAuthError):
        return
    async with services.db.session() as session:
        stored = await store.connectwise_settings(session, tenant_id)
        if stored is not None:
            stored.last_error = error.message


def upstream(error: AdapterError) -> UpstreamFailed:
    """A vendor failure as the API reports it (502), with the vendor's own message."""
    return UpstreamFailed(
        f"{error.vendor}: {error.message}",
        code=f"{error.vendor.replace(' ', '')}Failed",
        details={"vendor": error.vendor, "status": error.status, "vendorCode": error.code},
    )
