"""ConnectWise's navigable pagination: the ``Link`` response header.

The header lists ``<url>; rel="first|prev|next|last"``. Widely used clients pick the page number
with a pattern expecting ``page=N>`` at the very end of each URL; psasync reads the ``page``
query parameter wherever it sits, so a vendor that reorders parameters does not break paging.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

PAGE_SIZE = 1000  # the vendor's maximum: fewest round trips
_LINK = re.compile(r"<(?P<url>[^>]*)>\s*((?:;\s*[^;,]+)*)")
_REL = re.compile(r';\s*rel\s*=\s*"?(?P<rel>[A-Za-z]+)"?', re.IGNORECASE)


class PagingError(ValueError):
    """A ``Link`` header or page link that cannot be followed."""


def parse_link_header(value: str | None) -> dict[str, str]:
    """The links of a ``Link`` header by relation: ``{"next": url, "last": url}``."""
    links: dict[str, str] = {}
    for match in _LINK.finditer(value or ""):
        for rel in _REL.finditer(match.group(0)):
            links.setdefault(rel.group("rel").lower(), match.group("url").strip())
    return links


def page_of(url: str) -> int:
    """The page number a page link points at (its ``page`` query parameter)."""
    values = parse_qs(urlsplit(url).query).get("page")
    if not values:
        raise PagingError(f"the page link {url!r} names no page")
    try:
        page = int(values[-1])
    except ValueError:
        raise PagingError(f"the page link {url!r} has a page that is not a number") from None
    if page < 1:
        raise PagingError(f"the page link {url!r} points at page {page}")
    return page


def next_page(link_header: str | None, *, current: int) -> int | None:
    """The page to fetch after ``current``, or None on the last page.

    A next link that does not move forward would loop for ever: it is an error, not a page.
    """
    url = parse_link_header(link_header).get("next")
    if url is None:
        return None
    page = page_of(url)
    if page <= current:
        raise PagingError(
            f"ConnectWise sent a next link back to page {page} while on page {current}: "
            "stopping rather than looping"
        )
    return page
