"""Answers the emulator never gives, on a scripted transport: each maps to a typed, clear error."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from psasync.adapters.http import RetryPolicy
from psasync.adapters.marketplace import (
    AccessDenied,
    MarketplaceClient,
    MarketplaceSession,
    MarketplaceUnreachable,
    RequestRejected,
    ResellerAccountUnclear,
    SessionRejected,
    UnexpectedResponse,
)
from psasync.adapters.marketplace.errors import vendor_message

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx.Request], httpx.Response]
RESELLER = {"id": "1000001", "name": "Northwind IT", "currency": "USD"}
TOKEN = {"token": "tok", "expiresInSeconds": 1500}


def page(*items: Any) -> dict[str, Any]:
    return {"data": list(items), "pagination": {"offset": 0, "limit": 100, "total": len(items)}}


class FakeApi:
    """Routes "METHOD /path" (below the marketplace's base URL) to scripted answers; counts."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.calls: Counter[str] = Counter()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path.removeprefix('/marketplace/us')}"
        self.calls[key] += 1
        answer = self.routes[key]
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer, headers={"X-Correlation-ID": "cid-1"})


def client_on(api: FakeApi) -> tuple[MarketplaceClient, httpx.AsyncClient]:
    async def no_wait(_seconds: float) -> None:
        return None

    http = httpx.AsyncClient(transport=httpx.MockTransport(api))
    client = MarketplaceClient(
        http,
        base_url="https://gateway.test/marketplace/us/",
        code="us",
        subscription_key="key",
        retry=RetryPolicy(attempts=2, sleep=no_wait, rng=random.Random(1)),
        now=lambda: dt.datetime(2026, 11, 30, tzinfo=dt.UTC),
    )
    return client, http


async def logged_in(api: FakeApi) -> MarketplaceSession:
    client, _http = client_on(api)
    return await client.login(username="alice", password="pw")


def base_routes(more: dict[str, Any]) -> dict[str, Any]:
    return {"POST /token": TOKEN, "GET /resellers": page(RESELLER), **more}


async def test_a_403_is_access_denied_with_the_vendors_message() -> None:
    denied = httpx.Response(403, json={"message": "API access is not enabled for this user"})
    session = await logged_in(FakeApi(base_routes({"GET /customers": denied})))
    with pytest.raises(AccessDenied, match="API access is not enabled"):
        await session.list_customers()


async def test_another_4xx_is_a_rejected_request_with_the_vendors_message() -> None:
    bad = httpx.Response(400, json={"error": "Bad Request", "message": "limit must be ≤ 50"})
    session = await logged_in(FakeApi(base_routes({"GET /orders": bad})))
    with pytest.raises(RequestRejected, match="GET /orders answered 400: limit must be ≤ 50"):
        await session.list_orders()


async def test_a_401_that_survives_a_renewal_is_a_rejected_session() -> None:
    api = FakeApi(base_routes({"GET /orders/1": httpx.Response(401, text="no")}))
    session = await logged_in(api)
    with pytest.raises(SessionRejected, match="refused the session token"):
        await session.get_order("1")
    assert api.calls["POST /token"] == 2, "renewed exactly once"
    assert api.calls["GET /orders/1"] == 2, "repeated exactly once"


async def test_a_5xx_that_is_never_retried_is_still_unreachable() -> None:
    broken = httpx.Response(501, text="Not Implemented")
    session = await logged_in(FakeApi(base_routes({"GET /products": broken})))
    with pytest.raises(MarketplaceUnreachable, match="501"):
        await session.list_products()


async def test_a_success_that_is_not_json_is_unexpected() -> None:
    html = httpx.Response(200, text="<html>maintenance</html>")
    session = await logged_in(FakeApi(base_routes({"GET /customers/7": html})))
    with pytest.raises(UnexpectedResponse, match="not JSON"):
        await session.get_customer("7")


async def test_an_unusable_token_answer_is_unexpected_and_never_echoed() -> None:
    api = FakeApi(base_routes({"POST /token": {"token": "secret-tok"}}))
    client, _http = client_on(api)
    with pytest.raises(UnexpectedResponse, match="expiresInSeconds") as raised:
        await client.login(username="alice", password="pw")
    assert "secret-tok" not in str(raised.value)


@pytest.mark.parametrize(
    ("resellers", "fragment"),
    [
        (page(), "0 reseller accounts"),
        (
            page(RESELLER, {"id": "1000002", "name": "Other"}),
            "2 reseller accounts for this user (1000001, 1000002)",
        ),
    ],
)
async def test_login_needs_exactly_one_reseller_account(
    resellers: dict[str, Any], fragment: str
) -> None:
    api = FakeApi(base_routes({"GET /resellers": resellers}))
    with pytest.raises(ResellerAccountUnclear) as raised:
        await logged_in(api)
    assert fragment in str(raised.value)


async def test_list_items_without_details_are_completed_from_the_order() -> None:
    basic = {"id": "5", "type": "change", "customerId": "9", "creationDate": "2026-11-11T00:00:00Z"}
    full = {
        **basic,
        "orderNumber": "CH5",
        "status": "completed",
        "subscriptionId": "77",
        "details": [
            {"type": "recurring", "mpn": "X", "quantity": 2,
             "unitPrice": {"currency": "USD", "amount": "3.00"}}
        ],
    }  # fmt: skip
    api = FakeApi(
        base_routes({"GET /orders": page(basic, full | {"id": "6"}), "GET /orders/5": full})
    )
    session = await logged_in(api)
    listing = await session.list_orders()
    assert [(o.id, o.subscription_id, len(o.lines)) for o in listing.items] == [
        ("5", "77", 1),
        ("6", "77", 1),
    ]
    assert api.calls["GET /orders/5"] == 1
    assert "GET /orders/6" not in api.calls, "complete items are not re-read"


async def test_requests_carry_the_key_the_token_and_the_marketplace() -> None:
    seen: list[httpx.Request] = []
    api = FakeApi(base_routes({"GET /customers": page()}))

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return api(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(spy)) as http:
        client = MarketplaceClient(
            http, base_url="https://gateway.test/marketplace/us", code="us", subscription_key="key"
        )
        session = await client.login(username="alice", password="pw")
        await session.list_customers(name="Green Lane")
    token_request, _, customers = seen
    assert json.loads(token_request.content) == {"marketplace": "us"}
    assert token_request.headers["Authorization"].startswith("Basic ")
    assert customers.headers["Authorization"] == "Bearer tok"
    assert customers.headers["X-Subscription-Key"] == "key"
    assert customers.url.params["name"] == "Green Lane"
    assert "email" not in customers.url.params, "filters not given are not sent"


@pytest.mark.parametrize(
    ("response", "said"),
    [
        (httpx.Response(400, json={"error_description": "token expired"}), "token expired"),
        (httpx.Response(400, json={"error": "invalid_grant"}), "invalid_grant"),
        (httpx.Response(502, text="x" * 500), "x" * 200),
        (httpx.Response(503), "Service Unavailable"),
    ],
)
def test_the_vendors_message_is_found_in_any_error_shape(
    response: httpx.Response, said: str
) -> None:
    assert vendor_message(response) == said


async def test_reads_that_keep_timing_out_are_unreachable() -> None:
    api = FakeApi(base_routes({}))

    def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/orders"):
            raise httpx.ReadTimeout("timed out", request=request)
        return api(request)

    async def no_wait(_seconds: float) -> None:
        return None

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as http:
        client = MarketplaceClient(
            http,
            base_url="https://gateway.test/marketplace/us",
            code="us",
            subscription_key="key",
            retry=RetryPolicy(attempts=3, sleep=no_wait),
        )
        session = await client.login(username="alice", password="pw")
        with pytest.raises(MarketplaceUnreachable, match="after 3 attempts: ReadTimeout"):
            await session.list_orders()


def test_a_page_size_below_one_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="at least one item, not 0"):
        MarketplaceClient(
            httpx.AsyncClient(),
            base_url="https://x.test",
            code="us",
            subscription_key="k",
            page_size=0,
        )
