"""Reading the Link header and refusing page links that would loop."""

from __future__ import annotations

import pytest

from psasync.adapters.connectwise.paging import (
    PagingError,
    next_page,
    page_of,
    parse_link_header,
)

HEADER = (
    "<https://cw.test/v4_6_release/apis/3.0/company/companies?conditions=id%3E0&pageSize=2&page=1>;"
    ' rel="first", '
    '<https://cw.test/v4_6_release/apis/3.0/company/companies?pageSize=2&page=2>; rel="prev", '
    '<https://cw.test/v4_6_release/apis/3.0/company/companies?pageSize=2&page=4>; rel="next", '
    '<https://cw.test/v4_6_release/apis/3.0/company/companies?pageSize=2&page=9>; rel="last"'
)


def test_links_are_read_by_relation() -> None:
    links = parse_link_header(HEADER)
    assert set(links) == {"first", "prev", "next", "last"}
    assert links["next"].endswith("pageSize=2&page=4")
    assert parse_link_header(None) == {} and parse_link_header("") == {}


def test_relation_names_and_spacing_vary() -> None:
    links = parse_link_header('<https://x/a?page=2>;rel=next,<https://x/a?page=5>;  REL="Last"')
    assert links == {"next": "https://x/a?page=2", "last": "https://x/a?page=5"}


def test_the_page_is_found_wherever_it_sits() -> None:
    assert page_of("https://x/a?pageSize=1000&page=3") == 3
    assert page_of("https://x/a?page=3&pageSize=1000") == 3
    for bad in ("https://x/a?pageSize=10", "https://x/a?page=two", "https://x/a?page=0"):
        with pytest.raises(PagingError):
            page_of(bad)


def test_next_page_moves_forward_or_ends() -> None:
    assert next_page(HEADER, current=3) == 4
    assert next_page('<https://x/a?page=1>; rel="first"', current=2) is None
    assert next_page(None, current=1) is None


@pytest.mark.parametrize("current", [4, 5])
def test_a_next_link_that_does_not_move_forward_is_an_error(current: int) -> None:
    with pytest.raises(PagingError, match="looping"):
        next_page(HEADER, current=current)
