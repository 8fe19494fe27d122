"""Reading a whole ``{data, pagination}`` list through ``offset``/``limit`` pages.

The offset advances by the number of items actually received, so a gateway that caps ``limit``
below what was asked still yields every item. Lists are newest first, so an item created while
the pages are read pushes older ones down and one may show up twice: repeats are dropped. What
is refused (:class:`PagingError`, never an endless loop or a silently short list): a page that
brings nothing new, and an empty page before ``total`` is reached.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from psasync.adapters.marketplace.errors import PagingError, UnexpectedResponse, log_error

# A bound far beyond any real list (a million items at 100 a page) that still ends a loop.
MAX_PAGES = 10_000


@dataclass(frozen=True)
class Page:
    """One page: its raw items, the total the marketplace reports, the answer's correlation id."""

    items: list[Any]
    total: int | None
    correlation_id: str | None = None


def read_page(body: Any, *, operation: str, correlation_id: str | None) -> Page:
    """A :class:`Page` from a ``{data, pagination}`` body, or :class:`UnexpectedResponse`."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        error = UnexpectedResponse(
            f"{operation} answered without a 'data' list", correlation_id=correlation_id
        )
        log_error(error, operation=operation)
        raise error
    pagination = body.get("pagination")
    total = pagination.get("total") if isinstance(pagination, dict) else None
    valid_total = total if isinstance(total, int) and not isinstance(total, bool) else None
    return Page(items=data, total=valid_total, correlation_id=correlation_id)


def _identity(item: Any) -> str:
    if isinstance(item, dict) and isinstance(item.get("id"), str | int):
        return f"id:{item['id']}"
    return json.dumps(item, sort_keys=True, default=str)


async def collect(
    fetch: Callable[[int, int], Awaitable[Page]], *, page_size: int, operation: str
) -> list[Any]:
    """Every item of a list, fetching ``(offset, limit)`` pages until the list is exhausted."""
    items: list[Any] = []
    seen: set[str] = set()
    offset = 0
    for _ in range(MAX_PAGES):
        page = await fetch(offset, page_size)
        if not page.items:
            if page.total is not None and offset < page.total:
                raise _stuck(operation, page, f"the page at offset {offset} is empty")
            return items
        fresh = [item for item in page.items if _identity(item) not in seen]
        if not fresh:
            raise _stuck(operation, page, f"the page at offset {offset} repeats earlier items")
        seen.update(_identity(item) for item in fresh)
        items.extend(fresh)
        offset += len(page.items)
        ended = offset >= page.total if page.total is not None else len(page.items) < page_size
        if ended:
            return items
    raise PagingError(f"{operation}: more than {MAX_PAGES} pages; refusing to read on")


def _stuck(operation: str, page: Page, why: str) -> PagingError:
    error = PagingError(
        f"{operation}: the list does not advance: {why} (total {page.total})",
        correlation_id=page.correlation_id,
    )
    log_error(error, operation=operation)
    return error
