"""Invoiced periods: marked through the sandbox's control endpoint or seeded by the fixture,
served as the agreement's ``nextInvoiceDate``, and every write touching them refused."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from psasync.adapters.connectwise import ConnectWiseClient, ConnectWiseInvalid
from psasync.domain.money import Currency
from tests.integration.connectwise.world import (
    API,
    BASE,
    FIXTURE,
    FakeSleep,
    auth_headers,
    policy,
    site,
    whole_sandbox,
)

pytestmark = pytest.mark.anyio

ADDITIONS = f"{API}/finance/agreements/1201/additions"
INVOICED = "/_sandbox/connectwise/invoiced"
THROUGH = "2026-03-31"


def refusal(field: str) -> dict[str, Any]:
    """The vendor's answer to a write touching an invoiced period, naming ``field``."""
    return {
        "code": "InvalidObject",
        "message": "addition object is invalid",
        "errors": [
            {
                "code": "InvalidField",
                "message": "this period has already been invoiced",
                "resource": "addition",
                "field": field,
            }
        ],
    }


def served(**changes: Any) -> httpx.AsyncClient:
    app = whole_sandbox(**changes).app
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=auth_headers()
    )


@pytest.fixture
async def cw() -> AsyncIterator[httpx.AsyncClient]:
    async with served() as http:
        yield http


@pytest.fixture
async def invoiced(cw: httpx.AsyncClient) -> httpx.AsyncClient:
    """Agreement 1201 invoiced through March 2026 (additions 9001 from January, 9002 February)."""
    marked = await cw.put(INVOICED, json={"agreementId": 1201, "through": THROUGH})
    assert marked.status_code == 200, marked.text
    return cw


def addition(**changes: Any) -> dict[str, Any]:
    values = {"product": {"id": 301}, "billCustomer": "Billable", "quantity": 2}
    return {**values, **changes}


def refused_field(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    field = str(response.json()["errors"][0]["field"])
    assert response.json() == refusal(field)
    return field


def replace(path: str, value: object) -> list[dict[str, object]]:
    return [{"op": "replace", "path": path, "value": value}]


async def create(http: httpx.AsyncClient, effective: str) -> httpx.Response:
    return await http.post(ADDITIONS, json=addition(effectiveDate=f"{effective}T00:00:00Z"))


# The control endpoint and nextInvoiceDate ---------------------------------------------------------


async def test_marking_an_agreement_invoiced_sets_its_next_invoice_date(
    cw: httpx.AsyncClient,
) -> None:
    assert "nextInvoiceDate" not in (await cw.get(f"{API}/finance/agreements/1201")).json()
    marked = await cw.put(INVOICED, json={"agreementId": 1201, "through": THROUGH})
    assert marked.json() == {
        "agreementId": 1201,
        "through": THROUGH,
        "nextInvoiceDate": "2026-04-01",
    }
    agreement = (await cw.get(f"{API}/finance/agreements/1201")).json()
    assert agreement["nextInvoiceDate"] == "2026-04-01T00:00:00Z"
    listed = await cw.get(
        f"{API}/finance/agreements", params={"conditions": "nextInvoiceDate > [2026-01-01]"}
    )
    assert [a["id"] for a in listed.json()] == [1201]
    assert (await cw.get(INVOICED)).json() == [marked.json()]


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"agreementId": 4040, "through": THROUGH}, 404, "4040"),
        ({"agreementId": 1201, "through": "2026-02-30"}, 400, "through"),
        ({"agreementId": 1201, "through": "31/03/2026"}, 400, "through"),
        ({"agreementId": 1201}, 400, "through"),
        ({"agreementId": "x", "through": THROUGH}, 400, "agreementId"),
        ({"agreementId": 1201, "through": THROUGH, "thru": THROUGH}, 400, "thru"),
        ([], 400, "body"),
    ],
)
async def test_a_bad_invoiced_period_is_refused_and_changes_nothing(
    cw: httpx.AsyncClient, body: object, status: int, named: str
) -> None:
    response = await cw.put(INVOICED, json=body)
    assert response.status_code == status and named in response.json()["detail"]
    assert (await cw.get(INVOICED)).json() == []


async def test_an_invoiced_period_body_that_is_not_json_is_a_400(cw: httpx.AsyncClient) -> None:
    response = await cw.put(INVOICED, content=b"{", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


async def test_the_fixture_seeds_next_invoice_date() -> None:
    agreements = copy.deepcopy(FIXTURE["agreements"])
    agreements[0]["nextInvoiceDate"] = "2026-02-01T00:00:00Z"
    async with served(agreements=agreements) as http:
        agreement = (await http.get(f"{API}/finance/agreements/1201")).json()
        seeded = (await http.get(INVOICED)).json()
        before = await create(http, "2026-01-31")
        after = await create(http, "2026-02-01")
    assert agreement["nextInvoiceDate"] == "2026-02-01T00:00:00Z"
    assert seeded == [
        {"agreementId": 1201, "through": "2026-01-31", "nextInvoiceDate": "2026-02-01"}
    ]
    assert refused_field(before) == "effectiveDate" and after.status_code == 201


# The rules -------------------------------------------------------------------------------------


async def test_a_create_starting_inside_the_invoiced_span_is_refused(
    invoiced: httpx.AsyncClient,
) -> None:
    assert refused_field(await create(invoiced, THROUGH)) == "effectiveDate"
    assert refused_field(await invoiced.post(ADDITIONS, json=addition())) == "effectiveDate"
    assert (await invoiced.get(f"{ADDITIONS}/count")).json() == {"count": 2}, "nothing stored"
    assert (await create(invoiced, "2026-04-01")).status_code == 201


async def test_a_create_elsewhere_is_untouched_by_another_agreements_invoice(
    invoiced: httpx.AsyncClient,
) -> None:
    other = f"{API}/finance/agreements/1211/additions"
    response = await invoiced.post(other, json=addition(effectiveDate="2026-01-01T00:00:00Z"))
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("addition_id", "cancelled", "allowed"),
    [
        (9001, "2026-03-30T00:00:00Z", False),
        (9001, "2026-01-15T00:00:00Z", False),
        (9001, f"{THROUGH}T00:00:00Z", True),
        (9001, "2026-06-30T00:00:00Z", True),
        (9002, "2026-06-30T00:00:00Z", False),
        (9002, None, False),
    ],
    ids=[
        "the day before through",
        "deep inside",
        "through itself: the last billed day",
        "after the span",
        "a cancel inside the span moved out of it",
        "a cancel inside the span removed",
    ],
)
async def test_cancelling_inside_the_invoiced_span_is_refused(
    invoiced: httpx.AsyncClient, addition_id: int, cancelled: str | None, allowed: bool
) -> None:
    url = f"{ADDITIONS}/{addition_id}"
    before = (await invoiced.get(url)).json()
    response = await invoiced.patch(url, json=replace("cancelledDate", cancelled))
    if allowed:
        assert response.status_code == 200 and response.json()["cancelledDate"] == cancelled
    else:
        assert refused_field(response) == "cancelledDate"
        assert (await invoiced.get(url)).json() == before


async def test_moving_an_effective_date_into_or_out_of_the_span_is_refused(
    invoiced: httpx.AsyncClient,
) -> None:
    future = (await create(invoiced, "2026-05-01")).json()["id"]
    out_of_span = replace("effectiveDate", "2026-04-15T00:00:00Z")
    into_span = replace("effectiveDate", "2026-03-15T00:00:00Z")
    later = replace("effectiveDate", "2026-06-01T00:00:00Z")
    assert refused_field(await invoiced.patch(f"{ADDITIONS}/9001", json=out_of_span)) == (
        "effectiveDate"
    )
    assert refused_field(await invoiced.patch(f"{ADDITIONS}/{future}", json=into_span)) == (
        "effectiveDate"
    )
    assert (await invoiced.patch(f"{ADDITIONS}/{future}", json=later)).status_code == 200


async def test_quantity_and_price_changes_bill_from_the_next_invoice_and_are_allowed(
    invoiced: httpx.AsyncClient,
) -> None:
    operations = [*replace("quantity", 14), *replace("unitPrice", 13.2)]
    response = await invoiced.patch(f"{ADDITIONS}/9001", json=operations)
    assert response.status_code == 200 and response.json()["quantity"] == 14


async def test_a_put_is_held_to_the_same_rules(invoiced: httpx.AsyncClient) -> None:
    url = f"{ADDITIONS}/9001"
    current = (await invoiced.get(url)).json()
    writable = {
        key: current[key]
        for key in ("product", "billCustomer", "quantity", "unitPrice", "unitCost")
        + ("effectiveDate", "description", "invoiceDescription")
    }
    cancel_inside = {**writable, "cancelledDate": "2026-02-01T00:00:00Z"}
    assert refused_field(await invoiced.put(url, json=cancel_inside)) == "cancelledDate"
    assert (await invoiced.put(url, json={**writable, "quantity": 11})).status_code == 200


async def test_deleting_an_addition_that_has_billed_is_refused(
    invoiced: httpx.AsyncClient,
) -> None:
    assert refused_field(await invoiced.delete(f"{ADDITIONS}/9001")) == "effectiveDate"
    assert refused_field(await invoiced.delete(f"{ADDITIONS}/9002")) == "effectiveDate"
    future = (await create(invoiced, "2026-04-01")).json()["id"]
    assert (await invoiced.delete(f"{ADDITIONS}/{future}")).status_code == 204
    assert (await invoiced.get(f"{ADDITIONS}/count")).json() == {"count": 2}


async def test_without_an_invoice_the_same_writes_are_accepted(cw: httpx.AsyncClient) -> None:
    assert (await create(cw, THROUGH)).status_code == 201
    cancel = replace("cancelledDate", "2026-03-30T00:00:00Z")
    assert (await cw.patch(f"{ADDITIONS}/9001", json=cancel)).status_code == 200
    assert (await cw.delete(f"{ADDITIONS}/9002")).status_code == 204


# Through the client ----------------------------------------------------------------------------


async def test_the_client_reads_invoiced_through_and_sees_the_refusal(
    invoiced: httpx.AsyncClient,
) -> None:
    client = ConnectWiseClient(invoiced, site(), policy=policy(FakeSleep()))
    agreement = await client.domain_agreement(1201, default_currency=Currency("USD"))
    never = await client.domain_agreement(1211, default_currency=Currency("USD"))
    assert agreement.invoiced_through == dt.date(2026, 3, 31)
    assert never.invoiced_through is None
    with pytest.raises(ConnectWiseInvalid) as caught:
        await client.delete_addition(1201, 9001)
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("effectiveDate", "this period has already been invoiced")
    ]
