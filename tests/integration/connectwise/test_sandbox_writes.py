"""The emulator's writes: addition validation with per-field errors, and JSON Patch."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.connectwise.world import API, auth_headers

pytestmark = pytest.mark.anyio

ADDITIONS = f"{API}/finance/agreements/1201/additions"
VALID: dict[str, Any] = {
    "product": {"id": 301},
    "billCustomer": "Billable",
    "quantity": 3,
    "unitPrice": 13.20,
    "unitCost": 10.00,
    "effectiveDate": "2026-11-01T00:00:00Z",
    "description": "Microsoft 365 [psasync task:7:line1:recurring]",
    "invoiceDescription": "Microsoft 365 Business Standard",
}


async def post(http: httpx.AsyncClient, body: object, url: str = ADDITIONS) -> httpx.Response:
    return await http.post(url, json=body, headers=auth_headers())


async def patch(http: httpx.AsyncClient, addition_id: int, ops: object) -> httpx.Response:
    return await http.patch(f"{ADDITIONS}/{addition_id}", json=ops, headers=auth_headers())


def replace(path: str, value: object) -> list[dict[str, object]]:
    return [{"op": "replace", "path": path, "value": value}]


def field_errors(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "InvalidObject" and body["message"] == "addition object is invalid"
    assert all(error["resource"] == "addition" for error in body["errors"])
    return {error["field"]: error["code"] for error in body["errors"]}


async def count(http: httpx.AsyncClient) -> int:
    response = await http.get(f"{ADDITIONS}/count", headers=auth_headers())
    return int(response.json()["count"])


async def test_a_valid_addition_is_created_with_201(http: httpx.AsyncClient) -> None:
    response = await post(http, VALID)
    assert response.status_code == 201
    created = response.json()
    assert created["id"] == 9003, "ids continue after the highest one"
    assert created["agreementId"] == 1201
    assert '"unitPrice":13.2,' in response.text and '"extPrice":39.6,' in response.text
    again = await http.get(f"{ADDITIONS}/{created['id']}", headers=auth_headers())
    assert again.json() == created
    assert await count(http) == 3


async def test_left_out_values_come_from_the_product(http: httpx.AsyncClient) -> None:
    response = await post(http, {"product": {"id": 301}, "billCustomer": "NoCharge", "id": 5})
    created = response.json()
    assert response.status_code == 201 and created["id"] != 5, "read-only fields are ignored"
    assert (created["quantity"], created["unitPrice"], created["unitCost"]) == (1, 13.2, 10.0)
    assert created["description"] == "Microsoft 365 Business Standard"
    assert created["invoiceDescription"] == "Microsoft 365 Business Standard (per user)"


async def test_missing_required_fields_are_each_named(http: httpx.AsyncClient) -> None:
    errors = field_errors(await post(http, {"quantity": 2}))
    assert errors == {"product": "Required", "billCustomer": "Required"}
    assert await count(http) == 2, "nothing was stored"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"billCustomer": "Sometimes"}, {"billCustomer": "InvalidField"}),
        ({"product": {"id": 999}}, {"product": "NotFound"}),
        ({"product": {"id": 390}}, {"product": "InvalidField"}),
        ({"product": 301}, {"product": "InvalidField"}),
        ({"quantity": "three"}, {"quantity": "InvalidField"}),
        ({"unitPrice": True}, {"unitPrice": "InvalidField"}),
        ({"taxableFlag": "yes"}, {"taxableFlag": "InvalidField"}),
        ({"effectiveDate": "next monday"}, {"effectiveDate": "InvalidField"}),
        ({"invoiceDescription": "x" * 6001}, {"invoiceDescription": "MaxLengthField"}),
        ({"serialNumber": "s" * 51}, {"serialNumber": "MaxLengthField"}),
        ({"description": 12}, {"description": "InvalidField"}),
        ({"effectiveDate": "2025-12-31T00:00:00Z"}, {"effectiveDate": "OutOfRange"}),
        ({"cancelledDate": "2026-10-31T00:00:00Z"}, {"cancelledDate": "OutOfRange"}),
        (
            {"billCustomer": None, "effectiveDate": "2025-01-01", "unitCost": "1"},
            {"billCustomer": "Required", "effectiveDate": "OutOfRange", "unitCost": "InvalidField"},
        ),
    ],
)
async def test_invalid_fields_get_invalid_object_naming_them(
    http: httpx.AsyncClient, changes: dict[str, Any], expected: dict[str, str]
) -> None:
    assert field_errors(await post(http, {**VALID, **changes})) == expected
    assert await count(http) == 2


async def test_the_billing_start_message_is_the_vendors(http: httpx.AsyncClient) -> None:
    response = await post(http, {**VALID, "effectiveDate": "2025-12-01T00:00:00Z"})
    (error,) = response.json()["errors"]
    assert error["message"].startswith(
        "effectiveDate cannot be less than the agreement billing start date"
    )


async def test_an_agreement_without_bill_start_date_takes_any_effective_date(
    http: httpx.AsyncClient,
) -> None:
    url = f"{API}/finance/agreements/1202/additions"
    response = await post(http, {**VALID, "effectiveDate": "2020-01-01T00:00:00Z"}, url=url)
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"product": {"id": 301}}', "text/plain", 415),
    ],
)
async def test_unreadable_bodies_are_refused(
    http: httpx.AsyncClient, content: bytes, content_type: str, status: int
) -> None:
    headers = {**auth_headers(), "Content-Type": content_type}
    response = await http.post(ADDITIONS, content=content, headers=headers)
    assert response.status_code == status and response.json()["code"] == "ConnectWiseApi"


async def test_a_create_on_an_unknown_agreement_is_404(http: httpx.AsyncClient) -> None:
    response = await post(http, VALID, url=f"{API}/finance/agreements/4040/additions")
    assert response.status_code == 404


# JSON Patch -----------------------------------------------------------------------------------


async def test_replace_operations_change_the_addition(http: httpx.AsyncClient) -> None:
    response = await patch(
        http,
        9001,
        [
            {"op": "replace", "path": "quantity", "value": 12},
            {"op": "replace", "path": "/unitPrice", "value": 12.75},
            {"op": "replace", "path": "cancelledDate", "value": "2026-11-30T00:00:00Z"},
        ],
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["quantity"], changed["unitPrice"]) == (12, 12.75)
    assert changed["cancelledDate"] == "2026-11-30T00:00:00Z"
    assert '"extPrice":153.00' in response.text
    stored = await http.get(f"{ADDITIONS}/9001", headers=auth_headers())
    assert stored.json() == changed


async def test_the_product_can_be_replaced_by_reference_or_by_id(http: httpx.AsyncClient) -> None:
    response = await patch(http, 9001, [{"op": "replace", "path": "product/id", "value": 304}])
    assert response.json()["product"]["identifier"] == "STOR-USAGE-GB"
    response = await patch(http, 9001, [{"op": "add", "path": "product", "value": {"id": 301}}])
    assert response.json()["product"]["id"] == 301


async def test_remove_clears_optional_fields_and_cannot_clear_required_ones(
    http: httpx.AsyncClient,
) -> None:
    response = await patch(http, 9002, [{"op": "remove", "path": "cancelledDate"}])
    assert response.status_code == 200 and "cancelledDate" not in response.json()
    errors = field_errors(
        await patch(
            http,
            9002,
            [{"op": "remove", "path": "billCustomer"}, {"op": "remove", "path": "quantity"}],
        )
    )
    assert errors == {"billCustomer": "Required", "quantity": "Required"}


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([{"op": "replace", "path": "extPrice", "value": 1}], {"extPrice": "InvalidField"}),
        ([{"op": "replace", "path": "id", "value": 1}], {"id": "InvalidField"}),
        (
            [{"op": "replace", "path": "agreementId", "value": 1202}],
            {"agreementId": "InvalidField"},
        ),
        ([{"op": "replace", "path": "colour", "value": "red"}], {"colour": "InvalidField"}),
        (
            [{"op": "replace", "path": "product/name", "value": "x"}],
            {"product/name": "InvalidField"},
        ),
        (
            [{"op": "replace", "path": "cancelledDate", "value": "2025-12-31T00:00:00Z"}],
            {"cancelledDate": "OutOfRange"},
        ),
        (
            [
                {"op": "replace", "path": "quantity", "value": 99},
                {"op": "replace", "path": "billCustomer", "value": "Maybe"},
            ],
            {"billCustomer": "InvalidField"},
        ),
    ],
)
async def test_invalid_patches_change_nothing(
    http: httpx.AsyncClient, ops: list[dict[str, Any]], expected: dict[str, str]
) -> None:
    before = (await http.get(f"{ADDITIONS}/9001", headers=auth_headers())).json()
    assert field_errors(await patch(http, 9001, ops)) == expected
    after = (await http.get(f"{ADDITIONS}/9001", headers=auth_headers())).json()
    assert after == before


@pytest.mark.parametrize(
    "ops",
    [
        {"op": "replace", "path": "quantity", "value": 1},
        [],
        [{"op": "move", "path": "quantity", "from": "unitPrice"}],
        [{"op": "replace", "path": "quantity"}],
        [{"path": "quantity", "value": 2}],
        ["quantity"],
    ],
)
async def test_malformed_patch_documents_are_400(http: httpx.AsyncClient, ops: object) -> None:
    response = await patch(http, 9001, ops)
    assert response.status_code == 400 and response.json()["code"] == "ConnectWiseApi"


async def test_patching_an_addition_of_another_agreement_is_404(http: httpx.AsyncClient) -> None:
    url = f"{API}/finance/agreements/1211/additions/9001"
    response = await http.patch(url, json=[], headers=auth_headers())
    assert response.status_code == 404
