"""What every use case needs: the database, the vendors' HTTP client, the clock and settings.

One ``Services`` per process. The web app and the CLI build it (``Services.create``); tests build
it around an ``httpx.AsyncClient`` that talks to the sandboxes in-process.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from psasync.adapters.autotask import AutotaskClient, AutotaskCredentials, EntityGates
from psasync.adapters.connectwise import ConnectWiseClient, ConnectWiseSite
from psasync.adapters.http import RetryPolicy
from psasync.adapters.marketplace import MarketplaceClient
from psasync.config import MarketplaceSettings, Settings
from psasync.services.errors import BadRequest, Invalid
from psasync.services.queue import JobQueue
from psasync.store import AutotaskSettings, ConnectWiseSettings, Database, SecretBox

# A sync holds its task this long without a heartbeat; a crashed one lets a retry in after it.
DEFAULT_SYNC_LEASE = dt.timedelta(minutes=5)
# A create whose answer never came is looked for by its key this long before it is sent again:
# ConnectWise (behind its proxies) may apply a request a minute after the client gave up.
DEFAULT_UNKNOWN_OUTCOME_QUIET = dt.timedelta(seconds=75)
# How far before the watermark each Check Changes reads again (orders indexed late); tasks dedupe.
DEFAULT_CHECK_OVERLAP = dt.timedelta(minutes=10)
# Idle sessions expire after this long without a request.
DEFAULT_SESSION_IDLE = dt.timedelta(hours=8)
VENDOR_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# A small pool, every connection of it kept alive: httpcore checks each pooled connection on
# every request and every release (a poll of each idle socket), so every connection opened for
# a burst of reads costs CPU on every later call. On the bench a smaller pool (12 against 32)
# took about a seventh off a sync's and a preview's CPU (docs/performance.md); 16 leaves room
# for a worker's bulk sync beside an operator's previews. Calls beyond 16 wait their turn: at
# vendor latencies of 0.1–0.5 s that is 30–160 calls a second a process, more than ConnectWise
# lets through before it answers 429 (Autotask caps threads per endpoint).
VENDOR_CONNECTIONS = httpx.Limits(max_connections=16, max_keepalive_connections=16)


class _KeepNoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing.

    The one client serves every tenant, and tenants share vendor hosts (a ConnectWise cloud
    region, the marketplace): a cookie one tenant's call was answered with must never ride on
    another tenant's call. No vendor API psasync calls needs cookies; each call carries its own
    credentials.
    """

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        pass

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass


def vendor_http_client(**options: Any) -> httpx.AsyncClient:
    """The pooled client every vendor call goes through (``options``: httpx's, e.g. hooks)."""
    return httpx.AsyncClient(
        timeout=VENDOR_TIMEOUT,
        limits=VENDOR_CONNECTIONS,
        cookies=_KeepNoCookies(),
        **options,
    )


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Services:
    """Shared state of the use cases; the functions in this package take it first."""

    settings: Settings
    db: Database
    http: httpx.AsyncClient
    secret_box: SecretBox | None
    now: Callable[[], dt.datetime] = utc_now
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sync_lease: dt.timedelta = DEFAULT_SYNC_LEASE
    unknown_outcome_quiet: dt.timedelta = DEFAULT_UNKNOWN_OUTCOME_QUIET
    # Where background jobs go (set by the process that runs a job engine; None: no jobs here).
    queue: JobQueue | None = None
    check_overlap: dt.timedelta = DEFAULT_CHECK_OVERLAP
    # A session not seen for this long is over (DESIGN §7), in every process.
    session_idle: dt.timedelta = DEFAULT_SESSION_IDLE
    _connectwise: dict[int, tuple[dt.datetime, ConnectWiseClient]] = field(
        default_factory=dict, init=False
    )
    _autotask: dict[int, tuple[dt.datetime, AutotaskClient]] = field(
        default_factory=dict, init=False
    )
    # One set of thread gates per tenant, kept across new settings: Autotask's limit of three
    # concurrent requests per endpoint holds for the whole integration, not per client.
    _autotask_gates: dict[int, EntityGates] = field(default_factory=dict, init=False)

    @classmethod
    def create(cls, settings: Settings, *, http: httpx.AsyncClient | None = None) -> Services:
        """Services on the configured database, with a pooled vendor HTTP client."""
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        return cls(
            settings=settings,
            db=Database(settings.database_url),
            http=http or vendor_http_client(),
            secret_box=SecretBox(secret) if secret else None,
            sync_lease=dt.timedelta(seconds=settings.sync_lease_seconds),
            unknown_outcome_quiet=dt.timedelta(seconds=settings.unknown_outcome_quiet_seconds),
        )

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.db.dispose()

    def marketplace_settings(self, code: str) -> MarketplaceSettings:
        found = self.settings.marketplace(code)
        if found is None:
            known = ", ".join(m.code for m in self.settings.marketplaces) or "none configured"
            raise BadRequest(
                f"unknown marketplace {code!r} (configured: {known})", code="UnknownMarketplace"
            )
        return found

    def marketplace_client(self, code: str) -> MarketplaceClient:
        marketplace = self.marketplace_settings(code)
        return MarketplaceClient(
            self.http,
            base_url=str(marketplace.url).rstrip("/"),
            code=marketplace.code,
            subscription_key=marketplace.subscription_key.get_secret_value(),
            retry=self.retry,
        )

    def box(self) -> SecretBox:
        if self.secret_box is None:
            raise Invalid(
                "PSASYNC_SECRET_KEY is not set, so keys and sessions cannot be stored safely",
                code="SecretKeyMissing",
            )
        return self.secret_box

    def connectwise_client(self, stored: ConnectWiseSettings) -> ConnectWiseClient:
        """The tenant's client, reused while its settings stay the same (it caches lookups)."""
        cached = self._connectwise.get(stored.tenant_id)
        if cached is not None and cached[0] == stored.updated_at:
            return cached[1]
        site = ConnectWiseSite(
            site_url=stored.site_url,
            company_id=stored.company_id,
            public_key=stored.public_key,
            private_key=self.box().open(stored.private_key_encrypted),
            client_id=stored.client_id,
            codebase=stored.codebase,
        )
        # One POST per create: the sync service decides when an unknown outcome may be re-sent.
        client = ConnectWiseClient(self.http, site, policy=self.retry, create_attempts=1)
        self._connectwise[stored.tenant_id] = (stored.updated_at, client)
        return client

    def autotask_client(self, stored: AutotaskSettings) -> AutotaskClient:
        """The tenant's Autotask client, reused while its settings stay the same (it caches the
        picklists and the catalog); every client of a tenant shares its thread gates."""
        cached = self._autotask.get(stored.tenant_id)
        if cached is not None and cached[0] == stored.updated_at:
            return cached[1]
        box = self.box()
        credentials = AutotaskCredentials(
            username=stored.username,
            secret=box.open(stored.secret_encrypted),
            integration_code=box.open(stored.integration_code_encrypted),
            zone_url=stored.zone_url,
        )
        gates = self._autotask_gates.setdefault(stored.tenant_id, EntityGates())
        client = AutotaskClient(self.http, credentials, policy=self.retry, gates=gates)
        self._autotask[stored.tenant_id] = (stored.updated_at, client)
        return client
