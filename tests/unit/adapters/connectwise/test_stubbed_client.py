"""Client behaviour the emulator cannot show, against scripted vendor answers.

Security-role refusals (403), a proxy's HTML error page, a vendor paging bug, and the exact
requests the client sends.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from psasync.adapters.connectwise import (
    AdditionChanges,
    ConnectWiseAuthError,
    ConnectWiseClient,
    ConnectWiseDataError,
    ConnectWiseError,
    ConnectWiseSite,
    field,
)
from psasync.adapters.connectwise.site import ACCEPT
from psasync.adapters.http import RetryPolicy, Unreachable

pytestmark = pytest.mark.anyio
SITE = ConnectWiseSite(
    site_url="https://cw.example",
    company_id="northwind",
    public_key="pub",
    private_key="s3cret-private",
    client_id="client-guid",
    codebase="v2026_11",
)
Handler = Callable[[httpx.Request], httpx.Response]


async def no_sleep(_: float) -> None:
    return None


def client_for(handler: Handler) -> tuple[ConnectWiseClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    policy = RetryPolicy(attempts=2, sleep=no_sleep, rng=random.Random(3))
    return ConnectWiseClient(http, SITE, policy=policy), http


async def test_a_403_names_the_security_role() -> None:
    body = {"code": "Security", "message": "You do not have security permission to do this."}
    client, http = client_for(lambda _: httpx.Response(403, json=body))
    async with http:
        with pytest.raises(ConnectWiseAuthError) as caught:
            await client.agreements()
    error = caught.value
    assert (error.status, error.code) == (403, "Security")
    assert "security role" in error.message and "GET /finance/agreements" in error.message
    assert "s3cret-private" not in str(error)


async def test_an_html_error_page_still_gives_a_readable_error() -> None:
    client, http = client_for(lambda _: httpx.Response(409, content=b"<html>Conflict</html>"))
    async with http:
        with pytest.raises(ConnectWiseError) as caught:
            await client.company(5)
    assert caught.value.status == 409 and "409 Conflict" in caught.value.message


async def test_a_persistent_503_becomes_unreachable_with_the_vendor_message() -> None:
    body = {"code": "ConnectWiseApi", "message": "Service is down for maintenance"}
    client, http = client_for(lambda _: httpx.Response(503, json=body))
    async with http:
        with pytest.raises(Unreachable, match="down for maintenance"):
            await client.currencies()


async def test_a_next_link_back_to_the_same_page_is_not_followed_for_ever() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        link = '<https://cw.example/v2026_11/apis/3.0/company/companies?page=1>; rel="next"'
        return httpx.Response(200, json=[{"id": 1}], headers={"Link": link})

    client, http = client_for(handler)
    async with http:
        with pytest.raises(ConnectWiseDataError, match="looping"):
            await client.companies()
    assert len(requests) == 1


async def test_answers_that_are_not_what_was_asked_for_are_data_errors() -> None:
    answers = iter(
        [
            httpx.Response(200, json={"id": 1}),
            httpx.Response(200, json={"total": 3}),
            httpx.Response(200, content=b"not json"),
        ]
    )
    client, http = client_for(lambda _: next(answers))
    async with http:
        with pytest.raises(ConnectWiseDataError, match="list of objects"):
            await client.companies()
        with pytest.raises(ConnectWiseDataError, match="count"):
            await client.count("finance/agreements/1/additions")
        with pytest.raises(ConnectWiseDataError, match="not JSON"):
            await client.company(1)


async def test_lists_are_asked_for_in_pages_of_1000_with_conditions() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    client, http = client_for(handler)
    async with http:
        await client.catalog_by_mpn('CFQ"7')
    (request,) = seen
    assert request.url.path == "/v2026_11/apis/3.0/procurement/catalog"
    assert request.url.params["conditions"] == (
        'inactiveFlag = false and manufacturerPartNumber = "CFQ\\"7"'
    )
    assert request.url.params["pageSize"] == "1000" and request.url.params["page"] == "1"
    assert str(request.url).endswith("page=1"), "the page number goes last, like the vendor's"
    assert request.headers["clientId"] == "client-guid"
    assert request.headers["Accept"] == ACCEPT
    assert request.headers["Authorization"].startswith("Basic ")


async def test_a_patch_sends_a_json_patch_document() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "id": 9,
                "product": {"id": 3, "identifier": "P"},
                "quantity": 2,
                "cancelledDate": "2026-11-30T00:00:00Z",
            },
        )

    client, http = client_for(handler)
    async with http:
        changed = await client.update_addition(
            1201, 9, AdditionChanges(quantity=Decimal("2.5"), cancelled_date=dt.date(2026, 11, 30))
        )
    (request,) = seen
    assert request.method == "PATCH"
    assert request.url.path == "/v2026_11/apis/3.0/finance/agreements/1201/additions/9"
    assert request.headers["Content-Type"] == "application/json"
    assert request.content == (
        b'[{"op":"replace","path":"quantity","value":2.5},'
        b'{"op":"replace","path":"cancelledDate","value":"2026-11-30T00:00:00Z"}]'
    )
    assert changed.cancelled_date == dt.date(2026, 11, 30)


async def test_a_key_search_is_a_safe_contains_then_an_exact_match() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        near_misses = [
            {"id": 4, "product": {"id": 1}, "description": "x [psasync task:1:line10:prorate]"},
            {"id": 3, "product": {"id": 1}, "description": "copied task:1:line1:prorate by hand"},
            {"id": 8, "product": {"id": 1}, "description": "y [psasync task:1:line1:prorate]"},
            {"id": 6, "product": {"id": 1}, "description": "z [psasync task:1:line1:prorate]"},
        ]
        return httpx.Response(200, json=near_misses)

    client, http = client_for(handler)
    async with http:
        found = await client.find_addition_by_key(1201, "task:1:line1:prorate")
    assert found is not None and found.id == 6, "the oldest exact match"
    assert seen[0].url.params["conditions"] == 'description contains "task:1:line1:prorate"'


def test_conditions_are_built_not_pasted() -> None:
    assert str(field("identifier").eq('a" or "1"="1')) == r'identifier = "a\" or \"1\"=\"1"'


async def test_a_catalog_item_is_read_once_a_minute() -> None:
    item = {
        "id": 301,
        "identifier": "M365",
        "description": "M365",
        "price": 13.2,
        "cost": 10,
        "productClass": "Service",
    }
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, json=item)

    client, http = client_for(answer)
    async with http:
        first = await client.catalog_item(301)
        assert await client.catalog_item(301) == first
        assert len(asked) == 1  # the second preview of the product reads nothing
        client.catalog_ttl = 0  # a minute later, say: ConnectWise is asked again
        await client.catalog_item(301)
        assert len(asked) == 2
