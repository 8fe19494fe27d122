"""Where a ConnectWise site is and how to sign requests to it.

``Authorization: Basic base64("{companyId}+{publicKey}:{privateKey}")``, the integration's
``clientId`` header, and an ``Accept`` header pinning the model version psasync was written
against (without it the vendor answers with its latest models).
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import quote as url_quote

import httpx

from psasync.adapters.connectwise import jsonio
from psasync.adapters.http import AdapterError, RetryPolicy, send_with_retries

log = logging.getLogger(__name__)

VENDOR = "ConnectWise"
API_VERSION = "2026.11"
ACCEPT = f"application/vnd.connectwise.com+json; version={API_VERSION}"
DEFAULT_CODEBASE = "v4_6_release"
# A codebase becomes a path segment of every URL: letters, digits, dots and underscores only.
_CODEBASE = re.compile(r"[A-Za-z0-9_.]+")


class SiteError(ValueError):
    """Connection settings that cannot address a ConnectWise site."""


@dataclass(frozen=True)
class ConnectWiseSite:
    """The settings of one ConnectWise connection. The private key is kept out of ``repr``.

    ``site_url`` is the site's address (``https://api-na.myconnectwise.net``; a bare host means
    https). ``codebase`` None means: ask the site (:func:`discover_codebase`).
    """

    site_url: str
    company_id: str
    public_key: str
    private_key: str = field(repr=False)
    client_id: str
    codebase: str | None = None

    def __post_init__(self) -> None:
        for name in ("site_url", "company_id", "public_key", "private_key", "client_id"):
            if not str(getattr(self, name)).strip():
                raise SiteError(f"the ConnectWise {name.replace('_', ' ')} is empty")
        if self.codebase is not None:
            _checked_codebase(self.codebase)

    @property
    def root(self) -> str:
        """The site URL with a scheme and without a trailing slash."""
        url = self.site_url.strip().rstrip("/")
        return url if "://" in url else f"https://{url}"

    def api_base(self, codebase: str) -> str:
        """``{site}/{codebase}/apis/3.0/`` for a codebase such as ``v4_6_release``."""
        return f"{self.root}/{codebase.strip('/')}/apis/3.0/"

    def headers(self) -> dict[str, str]:
        """The headers every API call carries (the authorization is secret: never log it)."""
        token = f"{self.company_id}+{self.public_key}:{self.private_key}"
        return {
            "Authorization": "Basic " + base64.b64encode(token.encode("utf-8")).decode("ascii"),
            "clientId": self.client_id,
            "Accept": ACCEPT,
        }


async def discover_codebase(
    http: httpx.AsyncClient, site: ConnectWiseSite, *, policy: RetryPolicy | None = None
) -> str:
    """The codebase the site runs, without slashes (``v2026_11``).

    An explicit ``site.codebase`` wins. Otherwise ``GET {site}/login/companyinfo/{companyId}``
    is asked for its ``Codebase``; when the site cannot say, the long-standing default
    ``v4_6_release`` is used (it keeps answering on cloud and on-premise sites alike).
    """
    if site.codebase:
        return _checked_codebase(site.codebase)
    url = f"{site.root}/login/companyinfo/{url_quote(site.company_id, safe='')}"
    request = http.build_request("GET", url, headers={"Accept": "application/json"})
    try:
        response = await send_with_retries(
            http, request, policy=policy or RetryPolicy(attempts=2), idempotent=True, vendor=VENDOR
        )
        codebase = jsonio.loads(response.content).get("Codebase") if response.is_success else None
    except (AdapterError, ValueError, AttributeError) as error:
        log.warning("cannot read the ConnectWise codebase (%s); using %s", error, DEFAULT_CODEBASE)
        return DEFAULT_CODEBASE
    if not isinstance(codebase, str) or not _CODEBASE.fullmatch(codebase.strip("/ ")):
        log.warning("ConnectWise named no usable codebase (%r); using the default", codebase)
        return DEFAULT_CODEBASE
    return codebase.strip("/ ")


def _checked_codebase(codebase: str) -> str:
    cleaned = codebase.strip("/ ")
    if not _CODEBASE.fullmatch(cleaned):
        raise SiteError(f"codebase {codebase!r} is not like v4_6_release")
    return cleaned
