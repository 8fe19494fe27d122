"""The emulator's protocol, pinned with raw HTTP: auth checks, shapes, paging, filters, errors."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.marketplace.conftest import Sandbox
from tests.integration.marketplace.data import ALICE, EU_KEY, US_KEY
from tests.integration.marketplace.spec import SpecChecker

pytestmark = pytest.mark.anyio


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


async def token(http: httpx.AsyncClient, *, key: str = US_KEY) -> str:
    response = await http.post(
        "/token",
        json={"marketplace": "us"},
        headers={"X-Subscription-Key": key, "Authorization": basic(**ALICE)},
    )
    assert response.status_code == 200, response.text
    assert response.json()["expiresInSeconds"] == 1500
    value: str = response.json()["token"]
    return value


def bearer(value: str, *, key: str = US_KEY) -> dict[str, str]:
    return {"X-Subscription-Key": key, "Authorization": f"Bearer {value}"}


def assert_error(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message"} and fragment in body["message"], body
    uuid.UUID(response.headers["X-Correlation-ID"])


async def test_every_answer_carries_a_correlation_id(http: httpx.AsyncClient) -> None:
    ok = await http.get("/products", headers=bearer(await token(http)))
    refused = await http.get("/products")
    missing = await http.get("/no/such/path", headers=bearer("x"))
    ids = {r.headers["X-Correlation-ID"] for r in (ok, refused, missing)}
    assert len(ids) == 3 and all(uuid.UUID(value) for value in ids)
    assert_error(missing, 404, "Not Found")


async def test_the_subscription_key_is_checked_on_every_call(http: httpx.AsyncClient) -> None:
    assert_error(await http.post("/token"), 401, "missing subscription key")
    wrong = await http.post(
        "/token", headers={"X-Subscription-Key": EU_KEY, "Authorization": basic(**ALICE)}
    )
    assert_error(wrong, 401, "invalid subscription key")
    value = await token(http)
    assert_error(await http.get("/orders", headers=bearer(value, key="nope")), 401, "invalid")


async def test_basic_credentials_are_checked_at_token(http: httpx.AsyncClient) -> None:
    headers = {"X-Subscription-Key": US_KEY}
    assert_error(await http.post("/token", headers=headers), 401, "Basic authentication")
    bad = await http.post("/token", headers={**headers, "Authorization": "Basic !!!"})
    assert_error(bad, 401, "not valid base64")
    wrong = await http.post(
        "/token", headers={**headers, "Authorization": basic(ALICE["username"], "x")}
    )
    assert_error(wrong, 401, "Invalid username or password")
    assert wrong.headers["WWW-Authenticate"] == "Bearer"


async def test_a_bearer_token_is_needed_and_lapses(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    assert_error(
        await http.get("/orders", headers={"X-Subscription-Key": US_KEY}), 401, "bearer token"
    )
    assert_error(
        await http.get("/orders", headers=bearer("made-up")), 401, "invalid or has expired"
    )
    value = await token(http)
    assert (await http.get("/orders", headers=bearer(value))).status_code == 200
    sandbox.clock.advance(1500)
    assert_error(await http.get("/orders", headers=bearer(value)), 401, "expired")


async def test_a_token_of_one_marketplace_is_worthless_on_another(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    us_token = await token(http)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.eu_app), base_url="http://eu.test"
    ) as eu:
        refused = await eu.get("/orders", headers=bearer(us_token, key=EU_KEY))
    assert_error(refused, 401, "invalid or has expired")


async def test_lists_page_with_offset_and_limit(http: httpx.AsyncClient) -> None:
    headers = bearer(await token(http))
    first = (await http.get("/orders", params={"limit": 5}, headers=headers)).json()
    rest = (await http.get("/orders", params={"offset": 5, "limit": 5}, headers=headers)).json()
    default = (await http.get("/orders", headers=headers)).json()
    assert first["pagination"] == {"offset": 0, "limit": 5, "total": 8}
    assert rest["pagination"] == {"offset": 5, "limit": 5, "total": 8}
    assert len(first["data"]) == 5 and len(rest["data"]) == 3
    assert default["pagination"]["limit"] == 10, "the spec's default limit"
    dates = [o["creationDate"] for o in first["data"] + rest["data"]]
    assert dates == sorted(dates, reverse=True), "newest first"
    beyond = (await http.get("/orders", params={"offset": 50}, headers=headers)).json()
    assert beyond == {"data": [], "pagination": {"offset": 50, "limit": 10, "total": 8}}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "ten"}, "limit"),
        ({"status": "done"}, "status 'done' is not one of"),
        ({"creationTimeFrom": "yesterday"}, "creationTimeFrom 'yesterday' is not a date-time"),
    ],
)
async def test_unreadable_query_parameters_are_a_400_naming_them(
    http: httpx.AsyncClient, params: dict[str, Any], fragment: str
) -> None:
    response = await http.get("/orders", params=params, headers=bearer(await token(http)))
    assert_error(response, 400, fragment)


async def test_orders_answer_in_the_specs_shapes_with_billing_orders_typed_billing(
    http: httpx.AsyncClient, spec: SpecChecker
) -> None:
    before = spec.checked
    body = (await http.get("/orders/5000076", headers=bearer(await token(http)))).json()
    assert spec.checked == before + 2, "the token and the order were both checked"
    assert body["type"] == "billing" and body["orderNumber"] == "BO0000076"
    usage = body["details"][0]
    assert usage["quantity"] == 1250.5
    assert usage["unitPrice"] == {"currency": "USD", "amount": "0.02"}
    assert usage["extendedPrice"] == {"currency": "USD", "amount": "25.01"}
    assert usage["productId"] == "P-3"
    assert body["total"] == {"currency": "USD", "amount": "36.81"}  # 25.01 + 5.00 + 6.80
    assert "startDate" not in body and "planId" not in body, "write-only fields are not served"


async def test_a_subscription_answers_with_its_products_and_total(
    http: httpx.AsyncClient,
) -> None:
    headers = bearer(await token(http))
    one = (await http.get("/subscriptions/7000101", headers=headers)).json()
    (product,) = one["products"]
    assert product == {
        "mpn": "M365-BS",
        "vendor": "Acme",
        "id": "P-1",
        "quantity": 12,
        "name": "Product M365-BS",
        "unitPrice": {"currency": "USD", "amount": "12.50"},
        "extendedPrice": {"currency": "USD", "amount": "150.00"},
    }
    assert one["totalPrice"] == {"currency": "USD", "amount": "150.00"}
    listed = (await http.get("/subscriptions", headers=headers)).json()["data"]
    assert all("products" not in item for item in listed), "the list shape has no products"


async def test_subscription_filters(http: httpx.AsyncClient) -> None:
    headers = bearer(await token(http))

    async def ids(**params: str) -> list[str]:
        answer = await http.get("/subscriptions", params=params, headers=headers)
        return [item["id"] for item in answer.json()["data"]]

    assert await ids(creationDateFrom="2026-04-01", creationDateTo="2026-11-21") == [
        "7000102",
        "7000103",
    ]
    assert await ids(customerId="1000048532") == ["7000102", "7000104"]
    bad = await http.get("/subscriptions", params={"creationDateTo": "11/21"}, headers=headers)
    assert_error(bad, 400, "is not a date")


async def test_the_reseller_sees_only_its_own_account(http: httpx.AsyncClient) -> None:
    headers = bearer(await token(http))
    own = (await http.get("/resellers", headers=headers)).json()
    assert [r["id"] for r in own["data"]] == ["1000001"]
    assert "users" not in own["data"][0], "the sandbox's logins are never served"
    assert (await http.get("/resellers/1000001", headers=headers)).status_code == 200
    assert_error(await http.get("/resellers/1000002", headers=headers), 404, "not found")
    unmatched = await http.get("/resellers", params={"name": "contoso"}, headers=headers)
    assert unmatched.json()["data"] == []


async def test_customers_of_another_reseller_are_neither_listed_nor_found(
    http: httpx.AsyncClient,
) -> None:
    headers = bearer(await token(http))
    other = await http.get("/customers", params={"resellerId": "1000002"}, headers=headers)
    assert other.json() == {"data": [], "pagination": {"offset": 0, "limit": 10, "total": 0}}
    assert_error(await http.get("/customers/1000059001", headers=headers), 404, "not found")
    assert_error(await http.get("/subscriptions/7000901", headers=headers), 404, "not found")


async def test_products_filter_by_name_and_vendor(http: httpx.AsyncClient) -> None:
    headers = bearer(await token(http))
    found = await http.get("/products", params={"name": "stor-gb"}, headers=headers)
    assert [p["mpn"] for p in found.json()["data"]] == ["STOR-GB"]
    none = await http.get("/products", params={"vendor": "Other"}, headers=headers)
    assert none.json()["data"] == []
