"""The emulator's DELETE and PUT of an addition, over HTTP and through the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from psasync.adapters.connectwise import ConnectWiseClient
from tests.integration.connectwise.world import API, auth_headers

pytestmark = pytest.mark.anyio

ADDITIONS = f"{API}/finance/agreements/1201/additions"


@pytest.fixture
async def cw(http: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    http.headers.update(auth_headers())
    yield http


async def count(http: httpx.AsyncClient) -> int:
    return int((await http.get(f"{ADDITIONS}/count")).json()["count"])


async def test_a_delete_answers_204_with_no_body_and_the_addition_is_gone(
    cw: httpx.AsyncClient,
) -> None:
    response = await cw.delete(f"{ADDITIONS}/9001")
    assert response.status_code == 204 and response.content == b""
    assert (await cw.get(f"{ADDITIONS}/9001")).status_code == 404
    assert await count(cw) == 1


@pytest.mark.parametrize(
    "path",
    [
        f"{ADDITIONS}/9999",
        f"{API}/finance/agreements/1211/additions/9001",
        f"{API}/finance/agreements/4040/additions/9001",
    ],
    ids=["unknown addition", "another agreement's addition", "unknown agreement"],
)
async def test_deleting_what_is_not_there_is_the_vendor_404(
    cw: httpx.AsyncClient, path: str
) -> None:
    response = await cw.delete(path)
    assert response.status_code == 404 and response.json()["code"] == "NotFound"
    assert await count(cw) == 2


async def test_a_repeated_delete_finds_the_addition_gone(cw: httpx.AsyncClient) -> None:
    assert (await cw.delete(f"{ADDITIONS}/9002")).status_code == 204
    again = await cw.delete(f"{ADDITIONS}/9002")
    assert again.status_code == 404 and "9002" in again.json()["message"]


async def test_the_client_deletes_and_reports_an_addition_already_gone(
    client: ConnectWiseClient,
) -> None:
    assert await client.delete_addition(1201, 9001) is True
    assert await client.delete_addition(1201, 9001) is False
    assert [addition.id for addition in await client.additions(1201)] == [9002]


def whole(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "product": {"id": 301},
        "billCustomer": "Billable",
        "quantity": 12,
        "unitPrice": 12.5,
        "unitCost": 10,
        "effectiveDate": "2026-01-01T00:00:00Z",
        "description": "Microsoft 365 Business Standard",
        "invoiceDescription": "Microsoft 365 Business Standard",
    }
    return {**values, **changes}


async def test_a_put_replaces_the_whole_addition(cw: httpx.AsyncClient) -> None:
    response = await cw.put(f"{ADDITIONS}/9001", json=whole(id=5))
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert (replaced["id"], replaced["quantity"], replaced["extPrice"]) == (9001, 12, 150)
    assert (await cw.get(f"{ADDITIONS}/9001")).json() == replaced


async def test_a_put_needs_every_field_required_on_updates(cw: httpx.AsyncClient) -> None:
    response = await cw.put(f"{ADDITIONS}/9001", json={"product": {"id": 301}})
    assert response.status_code == 400 and response.json()["code"] == "InvalidObject"
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"billCustomer", "quantity", "unitPrice", "unitCost"} <= fields
    assert (await cw.get(f"{ADDITIONS}/9001")).json()["quantity"] == 10, "nothing changed"
