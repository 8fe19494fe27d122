"""Reading whole lists through offset/limit pages, and refusing pages that do not advance."""

from __future__ import annotations

import asyncio
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


# Reading ahead once the total is known ---------------------------------------------------------


class Slow(Pages):
    """Pages whose answers take longer the earlier they are, counting the pages in flight."""

    def __init__(self, data: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.in_flight = 0
        self.most_in_flight = 0

    async def __call__(self, offset: int, limit: int) -> Page:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001 * (100 - offset) / 100)
            return await super().__call__(offset, limit)
        finally:
            self.in_flight -= 1


async def test_pages_read_ahead_are_taken_in_order() -> None:
    pages = Slow(items(*range(100)))
    got = await collect(pages, page_size=10, operation="GET /orders", parallel=8)
    assert [item["id"] for item in got] == [str(i) for i in range(100)]
    assert pages.asked[0] == (0, 10)
    assert sorted(pages.asked) == [(offset, 10) for offset in range(0, 100, 10)]


async def test_no_more_than_parallel_pages_are_in_flight() -> None:
    pages = Slow(items(*range(100)))
    await collect(pages, page_size=5, operation="GET /orders", parallel=3)
    assert pages.most_in_flight == 3
    assert len(pages.asked) == 20


async def test_the_first_page_is_read_alone() -> None:
    pages = Slow(items(*range(30)))
    first_alone = False

    async def watched(offset: int, limit: int) -> Page:
        nonlocal first_alone
        if offset == 0:
            first_alone = pages.in_flight == 0
        return await pages(offset, limit)

    await collect(watched, page_size=10, operation="GET /orders")
    assert first_alone


async def test_a_capped_first_page_sets_the_offsets_read_ahead() -> None:
    pages = Slow(items(*range(7)), cap=2)
    got = await collect(pages, page_size=5, operation="GET /orders")
    assert [item["id"] for item in got] == [str(i) for i in range(7)]
    assert sorted(offset for offset, _ in pages.asked) == [0, 2, 4, 6]


async def test_a_short_page_in_the_middle_rereads_from_where_the_list_goes_on() -> None:
    data = items(*range(20))

    async def one_item_gone(offset: int, limit: int) -> Page:
        # The item at offset 5 disappears after the first page: the list shifts up by one.
        if offset == 0:
            return Page(items=data[:5], total=20)
        rest = data[:5] + data[6:]
        window = rest[offset : offset + limit]
        return Page(items=window[:4] if offset == 5 else window, total=19)

    got = await collect(one_item_gone, page_size=5, operation="GET /orders", parallel=4)
    ids = [item["id"] for item in got]
    assert ids == [str(i) for i in range(20) if i != 5]


async def test_a_total_that_grows_while_reading_is_followed_to_its_end() -> None:
    data = items(*range(10))

    async def growing(offset: int, limit: int) -> Page:
        if offset >= 5 and len(data) < 14:
            data.extend(items(*range(10, 14)))  # older items appear (newest-first list)
        return Page(items=data[offset : offset + limit], total=len(data))

    got = await collect(growing, page_size=5, operation="GET /orders")
    assert [item["id"] for item in got] == [str(i) for i in range(14)]


async def test_a_total_that_shrinks_while_reading_ends_the_list() -> None:
    async def shrinking(offset: int, limit: int) -> Page:
        total = 20 if offset == 0 else 12
        return Page(items=items(*range(total))[offset : offset + limit], total=total)

    got = await collect(shrinking, page_size=5, operation="GET /orders")
    assert [item["id"] for item in got] == [str(i) for i in range(12)]


async def test_the_first_error_in_page_order_is_raised_and_pages_ahead_are_dropped() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    async def failing(offset: int, limit: int) -> Page:
        started.append(offset)
        try:
            if offset == 20:
                raise UnexpectedResponse("page 3 broke")
            if offset == 30:
                raise UnexpectedResponse("page 4 broke")
            await asyncio.sleep(0.01 if offset > 30 else 0)
            return Page(items=items(*range(offset, offset + limit)), total=100)
        except asyncio.CancelledError:
            cancelled.append(offset)
            raise

    with pytest.raises(UnexpectedResponse, match="page 3 broke"):
        await collect(failing, page_size=10, operation="GET /orders", parallel=4)
    assert cancelled  # the pages read ahead were not left running
    assert max(started) < 100


async def test_a_page_read_ahead_that_repeats_is_still_refused() -> None:
    async def repeating(offset: int, _limit: int) -> Page:
        return Page(items=items(*range(3)), total=30, correlation_id=f"cid-{offset}")

    with pytest.raises(PagingError, match="offset 3 repeats earlier items") as raised:
        await collect(repeating, page_size=3, operation="GET /orders")
    assert raised.value.correlation_id == "cid-3"


async def test_without_a_total_nothing_is_read_ahead() -> None:
    pages = Slow(items(*range(30)), total=False)
    await collect(pages, page_size=5, operation="GET /x")
    assert pages.most_in_flight == 1


def test_at_least_one_page_is_read_at_a_time() -> None:
    with pytest.raises(ValueError, match="at least one page"):
        asyncio.run(collect(Pages([]), page_size=5, operation="GET /x", parallel=0))
