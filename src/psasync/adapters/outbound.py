"""The rules for addresses a tenant types that psasync will call (DESIGN.md §7).

A ConnectWise site or a notification webhook must be an ``https://`` host; plain ``http://`` is
allowed only where nothing crosses a network (loopback addresses, ``localhost``, and the ``.test``
names RFC 6761 reserves for the in-process sandboxes). The address is checked before any network
call, and the callers never follow a redirect (``follow_redirects=False``).

:func:`check_outbound_url` is the general check; the ConnectWise adapter keeps its own
site-specific wording on top of :func:`valid_host` and :func:`is_local_host`.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

# A host name: dot-separated labels of letters, digits and inner hyphens (no IDN: punycode).
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
# Plain http is allowed only where nothing crosses a network: loopback addresses, and the
# names RFC 6761 reserves (``localhost``, and ``.test`` for in-process test sandboxes).
_LOCAL_NAMES = ("localhost",)
_LOCAL_SUFFIXES = (".localhost", ".test")
MAX_OUTBOUND_URL = 2000


class OutboundUrlError(ValueError):
    """An address psasync must not call; the message says why (and never repeats the URL,
    which may carry a token)."""


def valid_host(host: str) -> bool:
    """Whether ``host`` is an IP address or a DNS name made of valid labels."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.removesuffix(".").split(".")
        return bool(host) and len(host) <= 253 and all(_HOST_LABEL.fullmatch(x) for x in labels)
    return True


def is_local_host(host: str) -> bool:
    """Whether ``host`` is this machine (or a reserved test name that no DNS resolves)."""
    host = host.lower().removesuffix(".")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES)


def check_outbound_url(url: str, *, what: str = "the address") -> str:
    """``url`` stripped, if psasync may call it (DESIGN.md §7); else :class:`OutboundUrlError`.

    Allowed: ``https://host[:port]/path?query``, and ``http://`` for loopback hosts only. Refused:
    any other scheme (``file:``, ``ftp:``, ``javascript:``…), a user name or password in the URL,
    a fragment, an invalid host or port, non-ASCII or control characters, more than
    2,000 characters. ``what`` names the setting in the message ("the webhook URL").
    """
    url = url.strip()
    if not url:
        raise OutboundUrlError(f"{what} is empty")
    if len(url) > MAX_OUTBOUND_URL or not url.isascii() or not url.isprintable() or " " in url:
        raise OutboundUrlError(
            f"{what} must be a web address of at most {MAX_OUTBOUND_URL} characters, "
            "ASCII without spaces (an international name in its xn-- form)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundUrlError(f"{what} has an invalid host or port") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not url[len(scheme) :].startswith("://"):
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise OutboundUrlError(f"{what} must start with https:// (not {shown})")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise OutboundUrlError(f"{what} must not carry a user name or password")
    if parts.fragment or "#" in url:
        raise OutboundUrlError(f"{what} must not have a #fragment")
    host = parts.hostname or ""
    if port == 0 or not valid_host(host):
        raise OutboundUrlError(f"{what} names no valid host")
    if scheme == "http" and not is_local_host(host):
        raise OutboundUrlError(
            f"{what} must be an https:// address "
            "(plain http:// only for this machine: localhost or 127.0.0.1)"
        )
    return url


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: what logs and records show of an address whose path
    or query may be a secret (a webhook's token)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "(invalid address)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
