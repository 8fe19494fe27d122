"""Inputs that once answered 500: each is refused with a 4xx that says why, and nothing is
stored or sent to a vendor (docs/api.md "Bounds")."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import CONNECTWISE, World, task_id

pytestmark = pytest.mark.anyio

GREEN_LANE_MANAGED = 1201


def sent_to_vendor(world: World) -> list[httpx.Request]:
    """Every request the app's vendor client sends from now on."""
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    world.vendor_http.event_hooks["request"].append(record)
    return seen


async def tile(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/api/v1/integrations")
    return dict(answer.json()[0])


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"siteUrl": "\u0000"}, "control characters"),
        ({"siteUrl": "https://\U0001f600.example"}, "ASCII"),
        ({"siteUrl": "javascript:alert(1)"}, "https://"),
        ({"siteUrl": "file:///etc/passwd"}, "https://"),
        ({"siteUrl": "ftp://127.0.0.1/"}, "https://"),
        ({"siteUrl": "http://127.0.0.1:99999/"}, "port"),
        ({"siteUrl": "http://cw.example.com"}, "https://"),
        ({"siteUrl": "https://user:pw@cw.example.com"}, "password"),
        ({"siteUrl": "https://cw.example.com/?x=1"}, "query"),
        ({"clientId": "\u0000"}, "control characters"),
        ({"clientId": "\U0001f600"}, "printable ASCII"),
        ({"companyId": "north\u00e9"}, "printable ASCII"),
        ({"publicKey": "a" * 300}, "at most"),
    ],
)
async def test_unusable_connectwise_settings_are_refused_before_any_call(
    world: World, changes: dict[str, str], says: str
) -> None:
    async with world.ready() as client:
        before = await tile(client)
        calls = sent_to_vendor(world)
        answer = await client.put("/api/v1/integrations/connectwise", json=CONNECTWISE | changes)
        assert answer.status_code == 422, answer.text
        assert says in answer.json()["error"]["message"]
        assert calls == []
        assert await tile(client) == before


async def test_the_settings_page_refuses_them_too(world: World) -> None:
    async with world.ready() as client:
        page = await client.get("/integrations/connectwise/settings")
        token = client.headers["X-CSRF-Token"]
        assert token in page.text
        form = {
            "site_url": "javascript:alert(1)",
            "company_id": "northwind",
            "public_key": "k",
            "private_key": "p",
            "client_id": "\U0001f600",
            "csrf_token": token,
        }
        answer = await client.post("/integrations/connectwise/settings", data=form)
        assert answer.status_code == 422
        assert "https://" in answer.text
        answer = await client.post(
            "/integrations/connectwise/settings", data=form | {"site_url": "x" * 301}
        )
        assert answer.status_code == 422 and "At most 300 characters" in answer.text
        nul = await client.post(
            "/integrations/connectwise/settings", data=form | {"client_id": "\u0000"}
        )
        assert nul.status_code == 400
        assert (await tile(client))["siteUrl"] == CONNECTWISE["siteUrl"]


async def test_a_bad_client_id_is_reported_as_refused_not_unreachable(world: World) -> None:
    async with world.login() as client:
        answer = await client.put(
            "/api/v1/integrations/connectwise", json=CONNECTWISE | {"clientId": "not-registered"}
        )
        assert answer.status_code == 422
        error = answer.json()["error"]
        assert error["code"] == "ConnectWiseRefused"
        assert "not registered" in error["message"]


async def test_an_unknown_host_fails_fast_with_a_clear_422(world: World) -> None:
    async with world.login() as client, httpx.AsyncClient() as real_network:
        world.services.http = real_network
        started = time.monotonic()
        answer = await client.put(
            "/api/v1/integrations/connectwise",
            json=CONNECTWISE | {"siteUrl": "https://no-such-host.invalid"},
        )
        assert time.monotonic() - started < 3
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "ConnectWiseUnknownHost"
        assert "no-such-host.invalid" in answer.json()["error"]["message"]


async def test_redirects_to_another_host_are_never_followed(world: World) -> None:
    """A site that redirects (to steal the keys, or by mistake) is refused; the target never
    sees a request."""
    sandbox = world.vendor_http._transport
    elsewhere: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cw.example.com":
            return httpx.Response(302, headers={"Location": "https://evil.example/steal"})
        if request.url.host == "evil.example":
            elsewhere.append(request)
            return httpx.Response(200, json={"count": 1})
        return await sandbox.handle_async_request(request)

    async with world.login() as client:
        world.services.http = httpx.AsyncClient(
            transport=httpx.MockTransport(handler), follow_redirects=False
        )
        answer = await client.put(
            "/api/v1/integrations/connectwise",
            json=CONNECTWISE | {"siteUrl": "https://cw.example.com"},
        )
        await world.services.http.aclose()
    assert answer.status_code == 422
    assert "redirect" in answer.json()["error"]["message"]
    assert "evil.example" in answer.json()["error"]["message"]
    assert elsewhere == []


@pytest.mark.parametrize(
    "quantity",
    ["1E+1000000000", "1e3", "NaN", "Infinity", "-Infinity", "1000000000", "0.0000001", "１２"],
)
async def test_quantities_beyond_the_bounds_are_422(world: World, quantity: Any) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000418")
        addition = {
            "key": "x",
            "description": "d",
            "quantity": quantity,
            "unitPrice": "1",
            "unitCost": "1",
            "effectiveDate": "2026-11-01",
            "billCustomer": "Billable",
            "taxableFlag": False,
        }
        for action in ("preview", "sync"):
            answer = await client.post(
                f"/api/v1/connectwise/tasks/{task}/{action}",
                json={"agreementId": GREEN_LANE_MANAGED, "additions": [addition]},
            )
            assert answer.status_code == 422, answer.text
            assert "plain notation" in answer.json()["error"]["message"]
        assert (await client.get(f"/api/v1/connectwise/tasks/{task}")).json()["status"] == "new"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/connectwise/tasks/9223372036854775808",
        "/api/v1/connectwise/tasks/2147483648",
        "/api/v1/connectwise/tasks/0",
        "/api/v1/connectwise/tasks/-1",
        "/api/v1/connectwise/tasks/2147483648/agreements",
        "/api/v1/connectwise/tasks?offset=99999999999999999999",
        "/api/v1/connectwise/tasks?offset=1000000001",
        "/api/v1/connectwise/tasks?offset=-1",
        "/api/v1/connectwise/tasks?limit=99999999999999999999",
        "/api/v1/connectwise/tasks?limit=0",
        "/api/v1/connectwise/history?taskId=99999999999999999999",
        "/api/v1/connectwise/history?offset=99999999999999999999",
        "/integrations/connectwise/tasks/9223372036854775808",
        "/integrations/connectwise/tasks/1?agreement=9223372036854775808",
        "/integrations/connectwise?offset=99999999999999999999",
        "/integrations/connectwise/history?offset=99999999999999999999",
    ],
)
async def test_ids_and_offsets_out_of_range_are_422(world: World, path: str) -> None:
    async with world.ready() as client:
        answer = await client.get(path)
        assert answer.status_code == 422, answer.text
        if path.startswith("/api/"):
            assert answer.json()["error"]["code"] == "InvalidRequest"
        else:
            assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/connectwise/tasks/9223372036854775808/ignore",
        "/integrations/connectwise/tasks/9223372036854775808/ignore",
        "/integrations/connectwise/tasks/9223372036854775808/review",
    ],
)
async def test_out_of_range_ids_in_posts_are_422(world: World, path: str) -> None:
    async with world.ready() as client:
        answer = await client.post(path, data={"csrf_token": client.headers["X-CSRF-Token"]})
        assert answer.status_code == 422, answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/connectwise/tasks?q=%00",
        "/api/v1/connectwise/tasks?status=%00",
        "/integrations/connectwise?q=%00",
        "/integrations/connectwise/mappings?company_q=%00",
    ],
)
async def test_control_characters_in_the_query_are_400(world: World, path: str) -> None:
    async with world.ready() as client:
        answer = await client.get(path)
        assert answer.status_code == 400, answer.text


async def test_mapping_rows_with_nul_or_huge_ids_are_422(world: World) -> None:
    async with world.ready() as client:
        before = (await client.get("/api/v1/connectwise/mappings/customers")).json()
        for rows in (
            [{"customerId": "\u0000", "companyId": 260}],
            [{"customerId": "1000048531", "companyId": 2**31}],
        ):
            answer = await client.put("/api/v1/connectwise/mappings/customers", json=rows)
            assert answer.status_code == 422, answer.text
        after = (await client.get("/api/v1/connectwise/mappings/customers")).json()
        assert after == before
