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
import re
from dataclasses import dataclass, field
from decimal import Decimal

from psasync.adapters.marketplace import MarketplaceSession
from psasync.adapters.outbound import OutboundUrlError, check_outbound_url

# The web layer names these through the use cases (DESIGN §1).
from psasync.domain.automation import AutoSyncPolicy as AutoSyncPolicy
from psasync.domain.orders import OrderType
from psasync.domain.plan import PriceSource
from psasync.domain.schedule import (
    Every as Every,
)
from psasync.domain.schedule import (
    Schedule,
    ScheduleError,
    known_timezones,
    next_run,
    parse_at,
    parse_timezone,
)
from psasync.services import auth
from psasync.services.actor import AUTOMATION, Actor
from psasync.services.context import Services
from psasync.services.errors import Invalid, NotAuthenticated, NotFound
from psasync.store import AutomationConfig, IntegrationUser, Tenant
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
    """The tenant's automation (DESIGN §4, §8): the integration user, the schedule (``every``
    None: no scheduled run), the auto-sync policy (off by default), who hears about each run,
    and when the last run started and the next is due."""

    marketplace_user: IntegrationUserView | None
    every: Every | None = None
    at: dt.time | None = None
    timezone: str = "UTC"
    policy: AutoSyncPolicy = field(default_factory=AutoSyncPolicy)
    emails: tuple[str, ...] = ()
    webhook_url: str | None = None
    last_run_at: dt.datetime | None = None
    next_run_at: dt.datetime | None = None

    @property
    def runs_unattended(self) -> bool:
        return self.marketplace_user is not None

    @property
    def schedule(self) -> Schedule | None:
        if self.every is None:
            return None
        return Schedule(self.every, at=self.at, timezone=self.timezone)

    @property
    def next_run(self) -> dt.datetime | None:
        """When the schedule runs next: nothing runs without a schedule and an integration
        user."""
        return self.next_run_at if self.every is not None and self.runs_unattended else None


async def automation_settings(services: Services, actor: Actor) -> AutomationSettings:
    """The tenant's automation settings."""
    return await settings_of(services, actor.tenant_id)


async def settings_of(services: Services, tenant_id: int) -> AutomationSettings:
    async with services.db.session() as session:
        user = await automation_store.integration_user(session, tenant_id)
        row = await automation_store.automation_config(session, tenant_id)
        view = IntegrationUserView.of(user) if user else None
        return _settings(view, row)


def _settings(user: IntegrationUserView | None, row: AutomationConfig | None) -> AutomationSettings:
    if row is None:
        return AutomationSettings(user)
    return AutomationSettings(
        marketplace_user=user,
        every=Every(row.schedule_every) if row.schedule_every else None,
        at=parse_at(row.schedule_at) if row.schedule_at else None,
        timezone=row.timezone or "UTC",
        policy=AutoSyncPolicy(
            order_types=frozenset(
                OrderType(value) for value in automation_store.order_types_of(row)
            ),
            price_source=PriceSource(row.auto_sync_price_source),
            allow_credits=row.allow_credits,
            max_amount=row.max_amount,
        ),
        emails=automation_store.emails_of(row),
        webhook_url=row.webhook_url,
        last_run_at=row.last_run_at,
        next_run_at=row.next_run_at,
    )


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


# Changing the settings ------------------------------------------------------------------------

MAX_EMAILS = 20
MAX_EMAIL = 254
MAX_AMOUNT = Decimal("1000000000")
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


@dataclass(frozen=True)
class ScheduleChange:
    """``every`` None: no scheduled run. ``at`` (HH:MM, local) is needed daily, else unused."""

    every: Every | None = None
    at: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True)
class NotifyChange:
    emails: tuple[str, ...] = ()
    webhook_url: str | None = None


@dataclass(frozen=True)
class MarketplaceUserChange:
    """Set the integration user (``username``/``password``), or forget it (both None)."""

    username: str | None = field(default=None)
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SettingsChange:
    """What a PUT changes; a part left None is kept as it is."""

    schedule: ScheduleChange | None = None
    policy: AutoSyncPolicy | None = None
    notify: NotifyChange | None = None
    marketplace_user: MarketplaceUserChange | None = None


async def change_settings(
    services: Services, actor: Actor, change: SettingsChange
) -> AutomationSettings:
    """Check every part of the change, then the integration user with the marketplace, then
    store it all. Anything refused → :class:`Invalid` (422) naming the fields; nothing stored.

    A changed schedule waits for its next slot (Run now runs at once); a changed policy
    decides the tasks waiting for review again at the next run.
    """
    current = await settings_of(services, actor.tenant_id)
    schedule, at_text = _checked_schedule(change.schedule, current)
    notify = _checked_notify(change.notify, current)
    policy = _checked_policy(change.policy or current.policy)
    user = change.marketplace_user
    if user is not None and user.username is not None and user.password is not None:
        await set_integration_user(services, actor, username=user.username, password=user.password)
    elif user is not None:
        await forget_integration_user(services, actor)
    now = services.now()
    same_schedule = schedule == current.schedule and current.next_run_at is not None
    values = automation_store.ConfigValues(
        schedule_every=schedule.every.value if schedule else None,
        schedule_at=at_text,
        timezone=schedule.timezone if schedule else _timezone_kept(change.schedule, current),
        order_types=tuple(sorted(t.value for t in policy.order_types)),
        price_source=policy.price_source.value,
        allow_credits=policy.allow_credits,
        max_amount=policy.max_amount,
        emails=notify.emails,
        webhook_url=notify.webhook_url,
    )
    async with services.db.session() as session:
        await automation_store.save_automation_config(
            session,
            actor.tenant_id,
            values,
            next_run_at=current.next_run_at if same_schedule else next_run(schedule, now),
            now=now,
            by=actor.name,
        )
        if policy != current.policy:
            cleared = await automation_store.clear_waiting_reasons(session, actor.tenant_id)
            log.info(
                "tenant %s: auto-sync policy changed; %s tasks to decide again",
                actor.tenant_id,
                cleared,
            )
    return await settings_of(services, actor.tenant_id)


def timezones() -> list[str]:
    """The IANA time zone names a schedule may use, sorted."""
    return sorted(known_timezones())


def _refused(field_name: str, message: str) -> Invalid:
    return Invalid(
        message,
        code="InvalidAutomation",
        details={"fieldErrors": [{"field": field_name, "message": message}]},
    )


def _checked_schedule(
    change: ScheduleChange | None, current: AutomationSettings
) -> tuple[Schedule | None, str | None]:
    if change is None:
        schedule = current.schedule
        return schedule, current.at.strftime("%H:%M") if current.at else None
    try:
        parse_timezone(change.timezone)
    except ScheduleError as error:
        raise _refused("schedule.timezone", str(error)) from None
    at = None
    if change.at is not None:
        try:
            at = parse_at(change.at)
        except ScheduleError as error:
            raise _refused("schedule.at", str(error)) from None
    if change.every is None:
        return None, change.at if at else None
    if change.every is not Every.DAY:
        at = None
    elif at is None:
        raise _refused("schedule.at", "A daily schedule needs the time it runs at (HH:MM).")
    schedule = Schedule(change.every, at=at, timezone=change.timezone)
    return schedule, at.strftime("%H:%M") if at else None


def _timezone_kept(change: ScheduleChange | None, current: AutomationSettings) -> str:
    return change.timezone if change is not None else current.timezone


def _checked_policy(policy: AutoSyncPolicy) -> AutoSyncPolicy:
    amount = policy.max_amount
    if amount is not None and (not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT):
        raise _refused(
            "autoSync.maxAmount",
            "The most a task may bill to sync without review is an amount from 0 to "
            f"{MAX_AMOUNT - 1:,}, or none for no limit.",
        )
    return policy


def _checked_notify(change: NotifyChange | None, current: AutomationSettings) -> NotifyChange:
    if change is None:
        return NotifyChange(current.emails, current.webhook_url)
    emails = tuple(dict.fromkeys(e.strip() for e in change.emails if e.strip()))
    if len(emails) > MAX_EMAILS:
        raise _refused(
            "notify.emails", f"At most {MAX_EMAILS} e-mail addresses, not {len(emails)}."
        )
    bad = [e for e in emails if len(e) > MAX_EMAIL or not _EMAIL.fullmatch(e)]
    if bad:
        shown = ", ".join(repr(e[:80]) for e in bad[:3])
        raise _refused("notify.emails", f"Not an e-mail address: {shown}.")
    webhook = (change.webhook_url or "").strip() or None
    if webhook is not None:
        try:
            webhook = check_outbound_url(webhook, what="The webhook URL")
        except OutboundUrlError as error:
            raise _refused("notify.webhookUrl", f"{error}.") from None
    return NotifyChange(emails, webhook)


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
