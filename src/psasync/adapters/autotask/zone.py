"""Who psasync is to Autotask, and where its database answers.

Every call carries three headers: ``ApiIntegrationCode`` (the integration's tracking identifier),
``UserName`` (an API-only user) and ``Secret``. Each Autotask database lives in one zone; the
zone's REST root (``https://webservices14.autotask.net/atservicesrest/``) is asked of
``GET {root}/atservicesrest/v1.0/zoneInformation?user={userName}`` unless the settings name it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from psasync.adapters import jsonio
from psasync.adapters.autotask.errors import VENDOR, AutotaskDataError, error_from_response
from psasync.adapters.http import RetryPolicy, send_with_retries
from psasync.adapters.outbound import OutboundUrlError, check_outbound_url

API_VERSION = "v1.0"
DISCOVERY_ROOT = "https://webservices.autotask.net"
ZONE_INFORMATION = f"atservicesrest/{API_VERSION}/zoneInformation"
# The credentials travel in HTTP headers: printable ASCII, bounded.
_HEADER_TEXT = re.compile(r"[\x20-\x7e]{1,256}")


class CredentialsError(ValueError):
    """Connection settings that cannot reach an Autotask database."""


@dataclass(frozen=True)
class AutotaskCredentials:
    """An API user's credentials; the secret and the integration code stay out of ``repr``.

    ``zone_url`` is the zone's REST root as ``zoneInformation`` gives it (``…/atservicesrest/``);
    None means: ask (:func:`discover_zone`).
    """

    username: str
    secret: str = field(repr=False)
    integration_code: str = field(repr=False)
    zone_url: str | None = None

    def __post_init__(self) -> None:
        for name in ("username", "secret", "integration_code"):
            if not _HEADER_TEXT.fullmatch(getattr(self, name)):
                raise CredentialsError(
                    f"the Autotask {name.replace('_', ' ')} must be printable ASCII text "
                    "of 1 to 256 characters"
                )
        if self.zone_url is not None:
            zone_root(self.zone_url)

    def headers(self) -> dict[str, str]:
        """The three headers of every call."""
        return {
            "ApiIntegrationCode": self.integration_code,
            "UserName": self.username,
            "Secret": self.secret,
        }


def zone_root(url: str) -> str:
    """A zone's REST root, checked (https, or http on this machine) and ending in ``/``."""
    try:
        checked = check_outbound_url(url, what="the Autotask zone URL")
    except OutboundUrlError as error:
        raise CredentialsError(str(error)) from None
    return checked.rstrip("/") + "/"


def api_base(zone_url: str) -> str:
    """Where entity calls go: ``{zone REST root}v1.0/``."""
    return f"{zone_root(zone_url)}{API_VERSION}/"


async def discover_zone(
    http: httpx.AsyncClient,
    credentials: AutotaskCredentials,
    *,
    root: str = DISCOVERY_ROOT,
    policy: RetryPolicy | None = None,
) -> str:
    """The zone's REST root for the API user: the configured one, else ``zoneInformation``'s
    ``url``. Zone lookups are exempt from the thread limit and carry no secret."""
    if credentials.zone_url is not None:
        return zone_root(credentials.zone_url)
    url = f"{zone_root(root).removesuffix('atservicesrest/')}{ZONE_INFORMATION}"
    request = http.build_request("GET", url, params={"user": credentials.username})
    response = await send_with_retries(
        http, request, policy=policy or RetryPolicy(), idempotent=True, vendor=VENDOR
    )
    await response.aread()
    if not response.is_success:
        raise error_from_response(response, what="GET /zoneInformation")
    try:
        answer: Any = jsonio.loads(response.content)
    except ValueError:
        raise AutotaskDataError(
            "Autotask answered zoneInformation with something not JSON"
        ) from None
    zone = answer.get("url") if isinstance(answer, dict) else None
    if not isinstance(zone, str) or not zone.strip():
        raise AutotaskDataError(
            f"Autotask knows no zone for the API user {credentials.username!r} "
            "(zoneInformation gave no url)"
        )
    try:
        return zone_root(zone)
    except CredentialsError as error:
        raise AutotaskDataError(
            f"Autotask's zoneInformation gave an unusable url: {error}"
        ) from None
