"""The PSA integrations of a tenant: the ConnectWise and Autotask tiles and their settings.

A tenant uses one PSA at a time (DESIGN §11): it has ConnectWise settings or Autotask settings,
never both. Configuring one while the other is configured is refused (409 ``PsaInUse``) unless
the request asks to switch; a switch forgets the other PSA's settings and the customer and
product mappings (their ids are the other PSA's records), and keeps tasks and history.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from psasync.adapters.autotask import (
    AutotaskAuthError,
    AutotaskClient,
    AutotaskCredentials,
    AutotaskError,
    AutotaskPsa,
    CredentialsError,
)
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
from psasync.domain.plan import PsaStyle
from psasync.services.actor import Actor
from psasync.services.context import Services
from psasync.services.errors import Conflict, Invalid, UpstreamFailed
from psasync.services.ports import PsaPort
from psasync.store import AutotaskSettings, ConnectWiseSettings, SecretKeyError
from psasync.store import autotask as autotask_store
from psasync.store import tenants as store

log = logging.getLogger(__name__)

Stored = TypeVar("Stored", ConnectWiseSettings, AutotaskSettings)

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
    # ConnectWise: the API member's public key and the integration's client id are not secret
    # (they travel beside the private key, which is never shown); the form shows them on edit.
    public_key: str | None = None
    client_id: str | None = None
    # Whether this is the PSA the tenant uses (its settings are the ones stored).
    in_use: bool = False
    # Autotask: the API user and the zone (never the secret or the integration code).
    username: str | None = None
    zone_url: str | None = None

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
    # None: keep the stored private key (it is never shown, so an edit need not retype it).
    private_key: str | None
    client_id: str

    def __repr__(self) -> str:
        return f"ConnectWiseForm(site_url={self.site_url!r}, company_id={self.company_id!r})"


@dataclass(frozen=True)
class AutotaskForm:
    """What the reseller enters for Autotask; ``zone_url`` None: found by zone discovery."""

    username: str
    secret: str
    integration_code: str
    zone_url: str | None = None

    def __repr__(self) -> str:
        return f"AutotaskForm(username={self.username!r}, zone_url={self.zone_url!r})"


@dataclass(frozen=True)
class TenantPsa:
    """The PSA a tenant uses, with its stored settings."""

    style: PsaStyle
    settings: ConnectWiseSettings | AutotaskSettings


async def integrations(services: Services, actor: Actor) -> list[IntegrationTile]:
    """Both tiles; the configured one (if any) is the one in use."""
    async with services.db.read() as session:
        stored = await store.tenant_with_settings(session, actor.tenant_id)
    if stored is None:
        return [connectwise_tile(None), autotask_tile(None)]
    return [connectwise_tile(stored.connectwise), autotask_tile(stored.autotask)]


async def tenant_psa(services: Services, tenant_id: int) -> TenantPsa | None:
    """The tenant's PSA and its settings; None before one is configured."""
    async with services.db.read() as session:
        return await _tenant_psa(session, tenant_id)


async def _tenant_psa(session: AsyncSession, tenant_id: int) -> TenantPsa | None:
    return psa_of(await store.tenant_with_settings(session, tenant_id))


def psa_of(stored: store.TenantWithSettings | None) -> TenantPsa | None:
    """The PSA in use among a tenant's stored settings (Autotask's, where both are stored)."""
    if stored is None:
        return None
    if stored.autotask is not None:
        return TenantPsa(PsaStyle.AUTOTASK, stored.autotask)
    if stored.connectwise is not None:
        return TenantPsa(PsaStyle.CONNECTWISE, stored.connectwise)
    return None


async def tenant_psa_style(services: Services, tenant_id: int) -> PsaStyle | None:
    """Which PSA the tenant uses (None: none configured yet)."""
    found = await tenant_psa(services, tenant_id)
    return found.style if found else None


def autotask_tile(stored: AutotaskSettings | None) -> IntegrationTile:
    if stored is None:
        return IntegrationTile(
            id="autotask",
            name="Autotask PSA",
            state=IntegrationState.NOT_CONFIGURED,
            message="Enter the API user's name, secret and integration code to connect.",
        )
    state = IntegrationState.ERROR if stored.last_error else IntegrationState.CONNECTED
    return IntegrationTile(
        id="autotask",
        name="Autotask PSA",
        state=state,
        message=stored.last_error,
        in_use=True,
        username=stored.username,
        zone_url=stored.zone_url,
    )


async def _make_room(
    session: AsyncSession, actor: Actor, wanted: PsaStyle, *, switch: bool
) -> None:
    """Refuse (409) configuring ``wanted`` while the other PSA is in use, unless switching;
    a switch forgets the other PSA (its settings and the mappings to its records)."""
    current = await _tenant_psa(session, actor.tenant_id)
    if current is None or current.style is wanted:
        return
    if not switch:
        raise Conflict(
            f"This account uses {current.style.vendor}: a tenant uses one PSA at a time. "
            f'To switch to {wanted.vendor}, send "switch": true; the {current.style.vendor} '
            "settings and the customer and product mappings are then forgotten.",
            code="PsaInUse",
            details={"psa": current.style.value, "wanted": wanted.value},
        )
    await autotask_store.forget_psa(session, actor.tenant_id)
    log.info(
        "tenant %s switches from %s to %s", actor.tenant_id, current.style.vendor, wanted.vendor
    )


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
        public_key=stored.public_key,
        client_id=stored.client_id,
        in_use=True,
    )


async def configure_connectwise(
    services: Services, actor: Actor, form: ConnectWiseForm, *, switch: bool = False
) -> IntegrationTile:
    """Check the keys against ConnectWise, then store them (private key encrypted).

    A form without a private key keeps the stored one, but only for the same site, company and
    public key: the stored key is never sent anywhere it was not sent before. Refused keys, an
    unreachable site or unusable settings raise :class:`Invalid` with the reason, and the stored
    settings stay as they were. While Autotask is in use: 409 unless ``switch``.
    """
    box = services.box()

    async def check() -> dict[str, object]:
        site = _site(await _with_private_key(services, actor, form))
        codebase = await _verify(services, site)
        return {
            "site_url": site.root,
            "company_id": site.company_id,
            "public_key": site.public_key,
            "private_key_encrypted": box.seal(site.private_key),
            "client_id": site.client_id,
            "codebase": codebase,
        }

    stored = await _configure(
        services,
        actor,
        PsaStyle.CONNECTWISE,
        check=check,
        save=store.save_connectwise_settings,
        switch=switch,
    )
    log.info("tenant %s connected ConnectWise company %s", actor.tenant_id, stored.company_id)
    return connectwise_tile(stored)


async def configure_autotask(
    services: Services, actor: Actor, form: AutotaskForm, *, switch: bool = False
) -> IntegrationTile:
    """Find the API user's zone (unless given), check the credentials against Autotask, then
    store them (secret and integration code sealed).

    Refused credentials, an unknown user or an unreachable zone raise :class:`Invalid` with
    Autotask's reason, and nothing is stored. While ConnectWise is in use: 409 unless
    ``switch``.
    """
    box = services.box()

    async def check() -> dict[str, object]:
        credentials = _credentials(form)
        zone = await _verify_autotask(services, credentials)
        return {
            "username": credentials.username,
            "secret_encrypted": box.seal(credentials.secret),
            "integration_code_encrypted": box.seal(credentials.integration_code),
            "zone_url": zone,
        }

    stored = await _configure(
        services,
        actor,
        PsaStyle.AUTOTASK,
        check=check,
        save=autotask_store.save_autotask_settings,
        switch=switch,
    )
    log.info("tenant %s connected Autotask as %s", actor.tenant_id, stored.username)
    return autotask_tile(stored)


async def _configure(
    services: Services,
    actor: Actor,
    style: PsaStyle,
    *,
    check: Callable[[], Awaitable[dict[str, object]]],
    save: Callable[[AsyncSession, int, Mapping[str, object]], Awaitable[Stored]],
    switch: bool,
) -> Stored:
    """The one way settings are stored: refuse at once (409) when the other PSA is in use and
    this is no switch, ``check`` the settings against the PSA (its values, or :class:`Invalid`
    and nothing stored), then make room and store them as verified now by ``actor``."""
    if not switch:
        async with services.db.session() as session:
            await _make_room(session, actor, style, switch=False)
    values = await check()
    now = services.now()
    async with services.db.session() as session:
        await _make_room(session, actor, style, switch=switch)
        return await save(
            session,
            actor.tenant_id,
            {
                **values,
                "verified_at": now,
                "last_error": None,
                "updated_at": now,
                "updated_by": actor.name,
            },
        )


async def _with_private_key(
    services: Services, actor: Actor, form: ConnectWiseForm
) -> ConnectWiseForm:
    """The form with its private key: as typed, or the stored one when the form keeps it."""
    if form.private_key is not None:
        return form
    async with services.db.session() as session:
        stored = await store.connectwise_settings(session, actor.tenant_id)
    if stored is None:
        raise Invalid("Enter the private key.", code="InvalidSettings")
    try:
        same_site = outbound_site_root(form.site_url) == stored.site_url
    except SiteError as error:
        raise Invalid(_sentence(str(error)), code="InvalidSettings") from None
    if not (
        same_site
        and form.company_id.strip() == stored.company_id
        and form.public_key.strip() == stored.public_key
    ):
        raise Invalid(
            "Enter the private key: the stored one is kept only for the same site, company "
            "and public key.",
            code="PrivateKeyNeeded",
        )
    try:
        private_key = services.box().open(stored.private_key_encrypted)
    except SecretKeyError as error:
        raise Invalid(_sentence(str(error)), code="SecretKeyChanged") from None
    return replace(form, private_key=private_key)


def _credentials(form: AutotaskForm) -> AutotaskCredentials:
    zone = form.zone_url.strip() if form.zone_url else None
    try:
        return AutotaskCredentials(
            username=form.username.strip(),
            secret=form.secret.strip(),
            integration_code=form.integration_code.strip(),
            zone_url=zone or None,
        )
    except CredentialsError as error:
        raise Invalid(_sentence(str(error)), code="InvalidSettings") from None


async def _verify_autotask(services: Services, credentials: AutotaskCredentials) -> str:
    """The zone's REST root, once the credentials are proved by a read."""
    policy = check_policy(services)
    try:
        client = await AutotaskClient.connect(
            services.http,
            credentials,
            discovery_root=services.settings.autotask_discovery_url,
            policy=policy,
        )
        await client.check_credentials()
    except AutotaskAuthError as error:
        raise Invalid(
            f"Autotask refused the credentials: {error.message}", code="AutotaskAuthFailed"
        ) from None
    except AutotaskError as error:
        raise Invalid(
            f"Autotask refused these settings: {error.message}", code="AutotaskRefused"
        ) from None
    except Unreachable as error:
        if _name_not_found(error):
            raise Invalid(
                "No Autotask zone host was found: check the zone URL.",
                code="AutotaskUnknownHost",
            ) from None
        raise Invalid(
            f"Autotask could not be reached with these settings: {error.message}",
            code="AutotaskUnreachable",
        ) from None
    except (AdapterError, CredentialsError) as error:
        raise Invalid(
            f"Autotask could not be reached with these settings: {error}",
            code="AutotaskUnreachable",
        ) from None
    return client.api.base_url.removesuffix("v1.0/")


def _site(form: ConnectWiseForm) -> ConnectWiseSite:
    """The site of the form, refused before any network call if psasync may not send keys
    there (DESIGN.md §7) or a value cannot travel in a header."""
    try:
        return ConnectWiseSite(
            site_url=outbound_site_root(form.site_url),
            company_id=form.company_id.strip(),
            public_key=form.public_key.strip(),
            private_key=(form.private_key or "").strip(),
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
    """The tenant's PSA behind the port (ConnectWise or Autotask, whichever it uses);
    :class:`Invalid` when none is configured yet."""
    found = await tenant_psa(services, tenant_id)
    if found is None:
        raise not_configured()
    return psa_from(services, found.settings)


def not_configured() -> Invalid:
    return Invalid(
        "ConnectWise is not connected yet: enter its settings first "
        "(or connect Autotask on the PSA Integrations page).",
        code="NotConfigured",
    )


def psa_from(services: Services, stored: ConnectWiseSettings | AutotaskSettings) -> PsaPort:
    """The PSA of settings already read (the stored keys opened with the secret key)."""
    try:
        if isinstance(stored, AutotaskSettings):
            return AutotaskPsa(services.autotask_client(stored))
        return ConnectWisePsa(services.connectwise_client(stored))
    except SecretKeyError as error:
        raise Invalid(str(error), code="SecretKeyChanged") from None
    except CredentialsError as error:
        raise Invalid(_sentence(str(error)), code="InvalidSettings") from None


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
    if not isinstance(error, ConnectWiseAuthError | AutotaskAuthError):
        return
    async with services.db.session() as session:
        stored: ConnectWiseSettings | AutotaskSettings | None
        if isinstance(error, AutotaskAuthError):
            stored = await autotask_store.autotask_settings(session, tenant_id)
        else:
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
