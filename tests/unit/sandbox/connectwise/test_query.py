"""How the emulator evaluates conditions, orders rows and pages them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from psasync.sandbox.connectwise.errors import VendorError
from psasync.sandbox.connectwise.query import (
    Kind,
    Paging,
    compile_conditions,
    link_header,
    order_rows,
    read_paging,
)

SCHEMA = {
    "id": Kind.NUMBER,
    "name": Kind.STRING,
    "day": Kind.DATE,
    "flag": Kind.BOOLEAN,
    "ref/id": Kind.NUMBER,
}
ROWS: list[dict[str, object]] = [
    {"id": 1, "name": "Green Lane", "day": dt.date(2026, 1, 1), "flag": True, "ref/id": 7},
    {"id": 2, "name": "green_field 100%", "day": None, "flag": False, "ref/id": None},
    {"id": 3, "name": None, "day": dt.date(2025, 6, 1), "flag": False},
]


def matching(conditions: str) -> list[int]:
    matches = compile_conditions(conditions, SCHEMA)
    return [int(str(row["id"])) for row in ROWS if matches(row)]


@pytest.mark.parametrize(
    ("conditions", "ids"),
    [
        ('name = "GREEN LANE"', [1]),
        ('name != "green lane"', [2]),  # a null name is neither equal nor unequal
        ('name like "green%"', [1, 2]),
        ('name like "green_field 100%"', [2]),
        ('name like "gr__n lane"', [1]),
        ('name contains "100%"', [2]),
        ('name not like "%lane"', [2]),
        ("name = null", [3]),
        ("name != null", [1, 2]),
        ("day < [2026-01-01T00:00:00Z]", [3]),
        ("day <= [2026-01-01]", [1, 3]),
        ("day = null or flag = true", [1, 2]),
        ("ref/id = 7", [1]),
        ("ref/id = null", [2, 3]),
        ("id in (1, 3)", [1, 3]),
        ("not (id in (1, 3))", [2]),
        ("id > 1.5", [2, 3]),
        ('name in ("GREEN LANE", "x")', [1]),
    ],
)
def test_conditions_select_rows(conditions: str, ids: list[int]) -> None:
    assert matching(conditions) == ids


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ("other = 1", "not a field"),
        ('id = "1"', "number field"),
        ("flag < true", "no order"),
        ('id like "1%"', "needs a text field"),
        ("day > 3", "date field"),
        ("id >= null", "null can only be compared"),
        ('id in (1, "2")', "number field"),
        ("id ==", "conditions: expected a value"),
    ],
)
def test_invalid_conditions_are_vendor_400s(conditions: str, message: str) -> None:
    with pytest.raises(VendorError) as caught:
        compile_conditions(conditions, SCHEMA)
    assert caught.value.status == 400 and message in caught.value.body["message"]


def ordered(order_by: str | None) -> list[object]:
    return [row["id"] for row in order_rows(ROWS, order_by, SCHEMA, row=lambda row: row)]


def test_ordering_by_fields_with_nulls_first_ascending() -> None:
    assert ordered(None) == [1, 2, 3]
    assert ordered("name asc") == [3, 1, 2]
    assert ordered("name DESC") == [2, 1, 3]
    assert ordered("flag asc, day desc") == [3, 2, 1]
    assert ordered("day") == [2, 3, 1]


@pytest.mark.parametrize("order_by", ["nope asc", "id up", "id asc extra", ","])
def test_bad_order_by_is_a_400(order_by: str) -> None:
    with pytest.raises(VendorError):
        ordered(order_by)


def test_paging_defaults_caps_and_refuses_nonsense() -> None:
    assert read_paging({}) == Paging(page=1, page_size=25)
    assert read_paging({"page": "3", "pagesize": "5000"}) == Paging(page=3, page_size=1000)
    for bad in ({"page": "0"}, {"page": "-1"}, {"pagesize": "ten"}, {"page": "1.5"}):
        with pytest.raises(VendorError):
            read_paging(bad)
    assert Paging(2, 2).window([1, 2, 3, 4, 5]) == [3, 4]


def test_link_headers_put_the_page_last_and_keep_other_parameters() -> None:
    query = [("conditions", 'name = "a b"'), ("page", "2"), ("PageSize", "10"), ("x", "1")]
    header = link_header(url="http://h/p", query=query, paging=Paging(2, 10), total=35)
    assert header == (
        '<http://h/p?conditions=name+%3D+%22a+b%22&x=1&pageSize=10&page=1>; rel="first", '
        '<http://h/p?conditions=name+%3D+%22a+b%22&x=1&pageSize=10&page=1>; rel="prev", '
        '<http://h/p?conditions=name+%3D+%22a+b%22&x=1&pageSize=10&page=3>; rel="next", '
        '<http://h/p?conditions=name+%3D+%22a+b%22&x=1&pageSize=10&page=4>; rel="last"'
    )
    assert link_header(url="http://h/p", query=[], paging=Paging(1, 25), total=25) is None
    beyond = link_header(url="http://h/p", query=[], paging=Paging(9, 10), total=12)
    assert beyond is not None and 'page=2>; rel="prev"' in beyond and "next" not in beyond


def test_decimal_and_integer_rows_compare_alike() -> None:
    matches = compile_conditions("id = 2.0", SCHEMA)
    assert matches({"id": 2}) and matches({"id": Decimal("2.00")}) and not matches({"id": 3})
