"""Configuration from the environment (``PSASYNC_*``), validated once at start-up."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import parseaddr
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    Secret,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from psasync.adapters.outbound import OutboundUrlError, check_outbound_url

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./psasync.db"
DEFAULT_MAIL_FROM = "psasync <psasync@localhost>"
# Where Autotask answers zoneInformation (the API user's zone) for every database.
DEFAULT_AUTOTASK_DISCOVERY_URL = "https://webservices.autotask.net"
HIDDEN = "***"
# scheme://user:password@host… : the password is what lies between the first ":" after the
# scheme's "//" and the last "@" before the host.
_URL_PASSWORD = re.compile(
    r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@]*:)(?P<secret>.*)(?P<tail>@[^@]*)$", re.DOTALL
)
# Query parameters that carry secrets (``?password=…``, ``&token=…``).
_QUERY_SECRET = re.compile(
    r"(?P<name>(?<=[?&;])(?:password|passwd|pass|pwd|secret|token|key|apikey|api_key)=)[^&;#]*",
    re.IGNORECASE,
)


def hide_url_password(url: str) -> str:
    """``postgresql://user:secret@host/db`` → ``postgresql://user:***@host/db``.

    Any text that is not such a URL comes back unchanged. A password in the query string
    (``?password=…``) is hidden too.
    """
    found = _URL_PASSWORD.match(url)
    hidden = f"{found['head']}{HIDDEN}{found['tail']}" if found else url
    return _QUERY_SECRET.sub(lambda found: f"{found['name']}{HIDDEN}", hidden)


class SecretUrl(Secret[str]):
    """A URL that may carry a password (``smtp://user:pass@host:587``): ``str()`` and ``repr()``
    show it with the password hidden (``smtp://user:***@host:587``), so ``psasync config`` and
    logs show where it points but never the password; ``get_secret_value()`` is the real URL."""

    def _display(self) -> str:
        return hide_url_password(self.get_secret_value())


class MarketplaceSettings(BaseModel):
    """One Cloud Marketplace (one region) resellers can log in to."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    url: AnyHttpUrl
    subscription_key: SecretStr = Field(alias="subscriptionKey")


class Settings(BaseSettings):
    """Everything psasync reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="PSASYNC_", extra="ignore", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    secret_key: SecretStr | None = None
    marketplaces: list[MarketplaceSettings] = Field(default_factory=list)
    check_lookback_days: Annotated[int, Field(ge=1, le=3660)] = 31
    # How long a sync run's claim on its task lasts without a heartbeat (DESIGN.md §6).
    sync_lease_seconds: Annotated[int, Field(ge=1, le=86400)] = 300
    # How long a create whose answer never came is looked for by its key before it may be
    # written again: ConnectWise may apply a request long after the client gave up.
    unknown_outcome_quiet_seconds: Annotated[int, Field(ge=0, le=3600)] = 75
    # Notifications after unattended runs (DESIGN.md §8, docs/notifications.md). The mail
    # server, e.g. smtp://user:pass@host:587?starttls=1, smtps://user:pass@host,
    # smtp://127.0.0.1:8025; None: no e-mail is sent. Checked when a mail is sent (a failure here
    # would echo the URL, password included, in pydantic's error).
    smtp_url: SecretUrl | None = None
    # The sender of those e-mails.
    mail_from: str = DEFAULT_MAIL_FROM
    # psasync's own address as users reach it (https://psasync.example.com), for the links in
    # notifications; None: notifications carry no links.
    base_url: str | None = None
    # Where psasync asks Autotask which zone an API user's database lives in, when the settings
    # name no zone URL (``{this}/atservicesrest/v1.0/zoneInformation``). The sandbox's root in
    # the demo and the tests; an https:// address (plain http only on this machine).
    autotask_discovery_url: str = DEFAULT_AUTOTASK_DISCOVERY_URL

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _blank_smtp_url_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("mail_from")
    @classmethod
    def _mail_from_is_an_address(cls, value: str) -> str:
        value = value.strip()
        _, address = parseaddr(value)
        if "@" not in address or not value.isprintable():
            raise ValueError("must be an e-mail address, e.g. psasync <psasync@example.com>")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url_is_a_web_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be psasync's web address, e.g. https://psasync.example.com")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must be psasync's web address without a query, #fragment or user")
        return value

    @field_validator("autotask_discovery_url")
    @classmethod
    def _discovery_url_is_outbound(cls, value: str) -> str:
        try:
            checked = check_outbound_url(value, what="the Autotask discovery URL")
        except OutboundUrlError as error:
            raise ValueError(str(error)) from None
        return checked.rstrip("/")

    @model_validator(mode="after")
    def _marketplace_codes_are_unique(self) -> Settings:
        codes = [marketplace.code for marketplace in self.marketplaces]
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise ValueError(f"marketplace codes must be unique; repeated: {', '.join(repeated)}")
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A password inside a URL setting (the database's) never reaches a log line or a trace.
        for name, value in super().__repr_args__():
            yield name, (hide_url_password(value) if isinstance(value, str) else value)

    def marketplace(self, code: str) -> MarketplaceSettings | None:
        """The configured marketplace with this code, if any."""
        return next((m for m in self.marketplaces if m.code == code), None)
