"""Reading a whole ``{data, pagination}`` list through ``offset``/``limit`` pages.

The offset advances by the number of items actually received, so a gateway that caps ``limit``
below what was asked still yields every item. Lists are newest first, so an item created while
the pages are read pushes older ones down and one may show up twice: repeats are dropped. What
is refused (:class:`PagingError`, never an endless loop or a silently short list): a page that
brings nothing new, and an empty page before ``total`` is reached.

The first page is read alone; once it gives the total, the remaining pages are read
:data:`PARALLEL_PAGES` at a time and taken in order, each checked as if read one after another.
A page that comes back short (the list shrank under the reader) makes the pages read ahead of
it start at the wrong offsets: they are dropped and read again from where the list now goes on.
A total that grows while the pages are read is followed to its new end.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from psasync.adapters.marketplace.errors import PagingError, UnexpectedResponse, log_error

# A bound far beyond any real list (a million items at 100 a page) that still ends a loop.
MAX_PAGES = 10_000
# Pages read at once once the first page has given the total.
PARALLEL_PAGES = 8


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
    fetch: Callable[[int, int], Awaitable[Page]],
    *,
    page_size: int,
    operation: str,
    parallel: int = PARALLEL_PAGES,
) -> list[Any]:
    """Every item of a list, fetching ``(offset, limit)`` pages until the list is exhausted.

    The first page is read alone; once a page gives the total, the pages up to it are read
    ahead, ``parallel`` at a time, and taken in order as if read one after another.
    """
    if parallel < 1:
        raise ValueError(f"at least one page is read at a time, not {parallel}")
    items: list[Any] = []
    seen: set[str] = set()
    offset = 0  # where the next page taken must start
    step = page_size  # the items a page brings (a gateway may cap the limit asked)
    total: int | None = None  # the total the last page taken reported
    started = 0
    ahead: deque[tuple[int, asyncio.Future[Page]]] = deque()
    try:
        while True:
            if ahead and ahead[0][0] != offset:
                # A page came back short: the pages read ahead start at the wrong offsets.
                await _drop(ahead)
            planned = ahead[-1][0] + step if ahead else offset
            while started < MAX_PAGES and (
                not ahead or (total is not None and len(ahead) < parallel and planned < total)
            ):
                ahead.append((planned, asyncio.ensure_future(fetch(planned, page_size))))
                started += 1
                planned += step
            if not ahead:
                raise PagingError(f"{operation}: more than {MAX_PAGES} pages; refusing to read on")
            _, pending = ahead.popleft()
            page = await pending
            if not page.items:
                if page.total is not None and offset < page.total:
                    raise _stuck(operation, page, f"the page at offset {offset} is empty")
                return items
            fresh = [item for item in page.items if _identity(item) not in seen]
            if not fresh:
                raise _stuck(operation, page, f"the page at offset {offset} repeats earlier items")
            seen.update(_identity(item) for item in fresh)
            items.extend(fresh)
            step = len(page.items) if offset == 0 else max(step, len(page.items))
            offset += len(page.items)
            ended = offset >= page.total if page.total is not None else len(page.items) < page_size
            if ended:
                return items
            total = page.total
    finally:
        await _drop(ahead)


async def _drop(ahead: deque[tuple[int, asyncio.Future[Page]]]) -> None:
    """Cancel the pages read ahead and wait for them to end (their errors are not raised)."""
    pending = [future for _, future in ahead]
    ahead.clear()
    for future in pending:
        future.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _stuck(operation: str, page: Page, why: str) -> PagingError:
    error = PagingError(
        f"{operation}: the list does not advance: {why} (total {page.total})",
        correlation_id=page.correlation_id,
    )
    log_error(error, operation=operation)
    return error
