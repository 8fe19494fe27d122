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
from urllib.parse import urlencode, urlsplit

import httpx

from psasync.adapters import jsonio
from psasync.adapters.http import AdapterError, RetryPolicy, send_with_retries
from psasync.adapters.outbound import is_local_host as _is_local
from psasync.adapters.outbound import valid_host as _valid_host

log = logging.getLogger(__name__)

VENDOR = "ConnectWise"
API_VERSION = "2026.11"
ACCEPT = f"application/vnd.connectwise.com+json; version={API_VERSION}"
DEFAULT_CODEBASE = "v4_6_release"
# A codebase becomes a path segment of every URL: letters, digits, dots and underscores only.
_CODEBASE = re.compile(r"[A-Za-z0-9_.]+")
# Cloud sites answer the API on api-XX.myconnectwise.net and show their screens on XX.….
_CLOUD_DOMAIN = ".myconnectwise.net"
_API_HOST_PREFIX = "api-"
RECORD_PATH = "services/system_io/router/openrecord.rails"
AGREEMENT_RECORD_TYPE = "AgreementFV"
# The company id, public key and client id travel in HTTP headers: printable ASCII, bounded.
_HEADER_TEXT = re.compile(r"[\x20-\x7e]{1,256}")
MAX_SITE_URL = 300
# An on-premise site may live under a path (https://psa.example.com/manage).
_SITE_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)*/?")
# "javascript:…", "mailto:…": a scheme without "//" (a bare "host:8443" is a host and port).
_SCHEME_ONLY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d+(/|$))")
# Which hosts are valid, and which are this machine (plain http allowed), is the rule of every
# outbound address a tenant types: psasync.adapters.outbound (DESIGN.md §7).


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
        for name in ("company_id", "public_key", "private_key", "client_id"):
            if not _HEADER_TEXT.fullmatch(getattr(self, name)):
                raise SiteError(
                    f"the ConnectWise {name.replace('_', ' ')} must be printable ASCII text "
                    "of at most 256 characters"
                )
        _site_root(self.site_url)
        if self.codebase is not None:
            _checked_codebase(self.codebase)

    @property
    def root(self) -> str:
        """The site URL with a scheme and without a trailing slash."""
        return _site_root(self.site_url)

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


def agreement_record_url(
    site: ConnectWiseSite | str,
    *,
    codebase: str,
    agreement_id: int,
    company_id: str | None = None,
) -> str:
    """The address of the agreement's own page in the ConnectWise screens (not the API).

    ``{site}/{codebase}/services/system_io/router/openrecord.rails?recordType=AgreementFV&recid=…
    &companyName=…``. ``site`` is a :class:`ConnectWiseSite` (its company id is used unless
    ``company_id`` is given) or a site URL (then ``company_id`` is required). A cloud site's API
    host ``api-na.myconnectwise.net`` becomes its screens' host ``na.myconnectwise.net``; other
    hosts are kept as they are. ``codebase`` is the one the site runs (``v4_6_release``).
    """
    company: str | None
    if isinstance(site, ConnectWiseSite):
        site_url, company = site.site_url, company_id or site.company_id
    else:
        site_url, company = site, company_id
    if not site_url.strip():
        raise SiteError("the ConnectWise site url is empty")
    if company is None or not company.strip():
        raise SiteError("the ConnectWise company id is empty")
    if isinstance(agreement_id, bool) or agreement_id < 1:
        raise SiteError(f"agreement id {agreement_id!r} is not a ConnectWise record id")
    query = urlencode(
        {
            "recordType": AGREEMENT_RECORD_TYPE,
            "recid": agreement_id,
            "companyName": company.strip(),
        },
        quote_via=url_quote,
    )
    root = _screens_root(_site_root(site_url))
    return f"{root}/{_checked_codebase(codebase)}/{RECORD_PATH}?{query}"


def outbound_site_root(site_url: str) -> str:
    """The root of a site a tenant typed, if psasync may send its keys there (DESIGN.md §7).

    Checked before any network call: an ``https://`` host (a bare host means https), or
    ``http://`` on loopback only (127.0.0.0/8, ::1, localhost; ``.test`` names are the
    in-process sandboxes); a valid port; no user, query or fragment. Raises
    :class:`SiteError` saying what is wrong.
    """
    root = _site_root(site_url)
    parts = urlsplit(root)
    if parts.scheme == "http" and not _is_local(parts.hostname or ""):
        raise SiteError(
            "the ConnectWise site must be an https:// address "
            "(plain http:// only for this machine: localhost or 127.0.0.1)"
        )
    return root


def _site_root(site_url: str) -> str:
    """The site URL with a scheme, without a trailing slash; :class:`SiteError` if it is not
    an http(s) address of a host."""
    url = site_url.strip().rstrip("/")
    if not url.isascii() or not url.isprintable() or " " in url or len(url) > MAX_SITE_URL:
        raise SiteError(
            "the ConnectWise site url must be a web address such as https://api-na.myconnectwise.net"
            " (ASCII, at most 300 characters; an international name in its xn-- form)"
        )
    if "://" not in url and _SCHEME_ONLY.match(url):
        raise SiteError(
            f"the ConnectWise site url must start with https://, not {url.split(':')[0]}:"
        )
    root = url if "://" in url else f"https://{url}"
    _check_root(root)
    return root


def _check_root(root: str) -> None:
    try:
        parts = urlsplit(root)
        port = parts.port
    except ValueError:
        raise SiteError(f"the ConnectWise site url {root!r} has an invalid host or port") from None
    if parts.scheme not in ("https", "http"):
        raise SiteError(f"the ConnectWise site url must start with https://, not {parts.scheme}:")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise SiteError("the ConnectWise site url must not carry a user name or password")
    if not _SITE_PATH.fullmatch(parts.path) or parts.query or parts.fragment or "?" in root:
        raise SiteError(
            "the ConnectWise site url is the site's address (and an on-premise site's path), "
            "without a query or fragment"
        )
    if port == 0 or not _valid_host(parts.hostname or ""):
        raise SiteError(f"the ConnectWise site url {root!r} names no valid host")


def _screens_root(root: str) -> str:
    """``https://api-na.myconnectwise.net`` → ``https://na.myconnectwise.net``; others as given."""
    parts = urlsplit(root)
    host = (parts.hostname or "").lower()
    if not (host.startswith(_API_HOST_PREFIX) and host.endswith(_CLOUD_DOMAIN)):
        return root
    try:
        port = parts.port
    except ValueError:
        raise SiteError(f"the ConnectWise site url {root!r} has an invalid port") from None
    screens = host.removeprefix(_API_HOST_PREFIX)
    return parts._replace(netloc=screens if port is None else f"{screens}:{port}").geturl()


def _checked_codebase(codebase: str) -> str:
    cleaned = codebase.strip("/ ")
    if not _CODEBASE.fullmatch(cleaned):
        raise SiteError(f"codebase {codebase!r} is not like v4_6_release")
    return cleaned
