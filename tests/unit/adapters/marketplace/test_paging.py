"""Reading whole lists through offset/limit pages, and refusing pages that do not advance."""

from __future__ import annotations

from typing import Any

import pytest

from psasync.adapters.marketplace import PagingError, UnexpectedResponse
from psasync.adapters.marketplace.paging import Page, collect, read_page

pytestmark = pytest.mark.anyio


def items(*ids: int) -> list[dict[str, Any]]:
    return [{"id": str(i)} for i in ids]


class Pages:
    """A list served page by page: ``serve(offset, limit)`` decides each answer."""

    def __init__(self, data: list[dict[str, Any]], *, cap: int | None = None, total: bool = True):
        self.data, self.cap, self.total = data, cap, total
        self.asked: list[tuple[int, int]] = []

    async def __call__(self, offset: int, limit: int) -> Page:
        self.asked.append((offset, limit))
        size = min(limit, self.cap) if self.cap else limit
        window = self.data[offset : offset + size]
        return Page(items=window, total=len(self.data) if self.total else None)


async def test_every_page_is_read_until_the_total() -> None:
    pages = Pages(items(*range(7)))
    got = await collect(pages, page_size=3, operation="GET /orders")
    assert [item["id"] for item in got] == [str(i) for i in range(7)]
    assert pages.asked == [(0, 3), (3, 3), (6, 3)]


async def test_a_gateway_capping_the_limit_still_yields_everything() -> None:
    pages = Pages(items(*range(7)), cap=2)
    assert len(await collect(pages, page_size=5, operation="GET /orders")) == 7
    assert [offset for offset, _ in pages.asked] == [0, 2, 4, 6]


async def test_without_a_total_a_short_page_ends_the_list() -> None:
    pages = Pages(items(*range(6)), total=False)
    assert len(await collect(pages, page_size=3, operation="GET /x")) == 6
    assert pages.asked == [(0, 3), (3, 3), (6, 3)]


async def test_an_item_pushed_onto_the_next_page_is_kept_once() -> None:
    answers = [items(9, 8, 7), items(7, 6, 5), items(4)]

    async def shifting(offset: int, _limit: int) -> Page:
        return Page(items=answers[offset // 3], total=7)

    got = await collect(shifting, page_size=3, operation="GET /orders")
    assert [item["id"] for item in got] == ["9", "8", "7", "6", "5", "4"]


async def test_a_page_that_repeats_is_refused_not_looped_over() -> None:
    async def same(_offset: int, _limit: int) -> Page:
        return Page(items=items(1, 2, 3), total=100, correlation_id="cid-7")

    with pytest.raises(PagingError, match="repeats earlier items") as raised:
        await collect(same, page_size=3, operation="GET /orders")
    assert raised.value.correlation_id == "cid-7"


async def test_an_empty_page_before_the_total_is_refused() -> None:
    async def short(offset: int, _limit: int) -> Page:
        return Page(items=items(1, 2) if offset == 0 else [], total=5)

    with pytest.raises(PagingError, match="offset 2 is empty"):
        await collect(short, page_size=2, operation="GET /orders")


def test_a_body_without_a_data_list_is_unexpected() -> None:
    with pytest.raises(UnexpectedResponse, match="without a 'data' list"):
        read_page({"items": []}, operation="GET /orders", correlation_id=None)
    page = read_page(
        {"data": [], "pagination": {"total": True}}, operation="x", correlation_id=None
    )
    assert page.total is None
