"""Writes: contract services, adjustments splitting unit rows, proration, charges, posted
periods."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from psasync.sandbox.server import Sandbox
from tests.integration.autotask.conftest import API

pytestmark = pytest.mark.anyio


async def units(http: httpx.AsyncClient, service_id: int, start: str, end: str) -> list[Any]:
    body = {
        "Filter": [
            {"op": "eq", "field": "contractServiceID", "value": service_id},
            {"op": "gte", "field": "startDate", "value": start},
            {"op": "lte", "field": "startDate", "value": end},
        ]
    }
    answer = await http.post(f"{API}/ContractServiceUnits/query", json=body)
    assert answer.status_code == 200, answer.text
    # Sorted by id, as queries are: a row split off later has a later id.
    found = [(u["startDate"][:10], u["endDate"][:10], u["units"]) for u in answer.json()["items"]]
    return sorted(found)


async def billing(http: httpx.AsyncClient, contract: int, start: str, end: str) -> Any:
    params: dict[str, str | int] = {"contractID": contract, "from": start, "to": end}
    return (await http.get("/_sandbox/autotask/billing", params=params)).json()


async def adjust(http: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await http.post(f"{API}/ContractServiceAdjustments", json=body)


async def test_a_mid_period_upgrade_splits_the_row_and_autotask_prorates_it(
    http: httpx.AsyncClient,
) -> None:
    answer = await adjust(
        http, contractID=1001, serviceID=501, unitChange=2, effectiveDate="2026-11-11T00:00:00"
    )
    assert answer.status_code == 200 and set(answer.json()) == {"itemId"}
    assert await units(http, 7001, "2026-11-01", "2026-12-01") == [
        ("2026-11-01", "2026-11-10", 10),
        ("2026-11-11", "2026-11-30", 12),
        ("2026-12-01", "2026-12-31", 12),
    ]
    november = await billing(http, 1001, "2026-11-01", "2026-11-30")
    # 10 × 12.50 in advance, then 2 × (30 − 10) × 12.50 / 30 = 2 × 8.33.
    assert [(i["kind"], i["amount"]) for i in november["items"]] == [
        ("recurring", "125.00"),
        ("prorated", "16.66"),
    ]
    assert november["total"] == "141.66"


async def test_an_adjustment_on_the_period_start_changes_the_whole_row(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.post(
        f"{API}/Contracts/1011/ServiceAdjustments",
        json={"contractServiceID": 7011, "unitChange": -3, "effectiveDate": "2026-12-01"},
    )
    assert answer.status_code == 200
    assert await units(http, 7011, "2026-11-01", "2027-01-01") == [
        ("2026-11-01", "2026-11-30", 15),
        ("2026-12-01", "2026-12-31", 12),
        ("2027-01-01", "2027-01-31", 12),
    ]
    december = await billing(http, 1011, "2026-12-01", "2026-12-31")
    assert [(i["kind"], i["amount"]) for i in december["items"]] == [("recurring", "264.00")]


async def test_a_downgrade_mid_period_is_a_prorated_credit(http: httpx.AsyncClient) -> None:
    await adjust(http, contractServiceID=7011, unitChange=-3, effectiveDate="2026-11-16")
    november = await billing(http, 1011, "2026-11-01", "2026-11-30")
    assert november["items"][1]["proratedUnitPrice"] == "11.00"
    assert november["total"] == "297.00"  # 15 × 22.00 − 3 × 11.00


async def test_an_adjustment_for_a_missing_service_creates_it(http: httpx.AsyncClient) -> None:
    answer = await adjust(
        http,
        contractID=1001,
        serviceID=503,
        unitChange=5,
        effectiveDate="2026-11-21",
        adjustedUnitPrice=15,
        adjustedUnitCost=9,
    )
    assert answer.status_code == 200
    services = (await http.get(f"{API}/Contracts/1001/Services")).json()["items"]
    created = next(s for s in services if s["serviceID"] == 503)
    assert created["unitPrice"] == 15
    assert await units(http, created["id"], "2026-11-01", "2026-12-01") == [
        ("2026-11-21", "2026-11-30", 5),
        ("2026-12-01", "2026-12-31", 5),
    ]
    items = (await billing(http, 1001, "2026-11-21", "2026-11-21"))["items"]
    assert [(i["kind"], i["proratedUnitPrice"], i["amount"]) for i in items] == [
        ("prorated", "5.00", "25.00")
    ]


async def test_a_cancellation_to_zero_leaves_a_zero_unit_row(http: httpx.AsyncClient) -> None:
    await adjust(http, contractServiceID=7001, unitChange=-10, effectiveDate="2026-12-01")
    assert (await units(http, 7001, "2026-12-01", "2026-12-01")) == [
        ("2026-12-01", "2026-12-31", 0)
    ]
    below = await adjust(http, contractServiceID=7001, unitChange=-1, effectiveDate="2027-01-01")
    assert below.status_code == 500 and "less than zero" in below.json()["errors"][0]


async def test_adjustments_are_stored_but_never_served(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await adjust(http, contractServiceID=7001, unitChange=1, effectiveDate="2026-11-05")
    seen = (await http.get("/_sandbox/autotask/adjustments")).json()
    assert seen == [
        {
            "id": 1,
            "contractID": 1001,
            "contractServiceID": 7001,
            "serviceID": 501,
            "effectiveDate": "2026-11-05",
            "unitChange": 1,
            "adjustedUnitPrice": None,
            "adjustedUnitCost": None,
        }
    ]
    assert sandbox.autotask is not None and len(sandbox.autotask.state.adjustments()) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"contractID": 1001, "serviceID": 501, "unitChange": 1}, "effectiveDate is required"),
        (
            {"contractID": 1001, "serviceID": 501, "effectiveDate": "2026-11-01"},
            "unitChange is required",
        ),
        (
            {"contractID": 1001, "unitChange": 1, "effectiveDate": "2026-11-01"},
            "contractID and serviceID",
        ),
        (
            {"contractServiceID": 1, "unitChange": 1, "effectiveDate": "2026-11-01"},
            "Value does not reference an existing entity for contractServiceID",
        ),
        (
            {"contractID": 1001, "serviceID": 9, "unitChange": 1, "effectiveDate": "2026-11-01"},
            "Value does not reference an existing entity for serviceID",
        ),
        (
            {"contractID": 9, "serviceID": 501, "unitChange": 1, "effectiveDate": "2026-11-01"},
            "Value does not reference an existing entity for contractID",
        ),
        (
            {"contractID": 1002, "serviceID": 501, "unitChange": 1, "effectiveDate": "2026-11-01"},
            "not a Recurring Service contract",
        ),
        (
            {"contractServiceID": 7001, "unitChange": 1, "effectiveDate": "2028-01-01"},
            "outside contract 1001's dates",
        ),
        (
            {"contractServiceID": 7001, "unitChange": 1.5, "effectiveDate": "2026-11-01"},
            "not a valid integer",
        ),
        (
            {
                "contractServiceID": 7001,
                "contractID": 1011,
                "unitChange": 1,
                "effectiveDate": "2026-11-01",
            },
            "does not match",
        ),
    ],
)
async def test_invalid_adjustments_are_the_vendors_500(
    http: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    answer = await adjust(http, **body)
    assert answer.status_code == 500
    assert message in " ".join(answer.json()["errors"])


async def test_posted_periods_refuse_adjustments_and_charges(http: httpx.AsyncClient) -> None:
    # Lakeside is posted through 24 Nov: its period 25 Oct – 24 Nov is closed.
    refused = await http.post(
        f"{API}/Contracts/1031/ServiceAdjustments",
        json={"serviceID": 501, "unitChange": 2, "effectiveDate": "2026-10-30"},
    )
    assert refused.status_code == 500
    assert "already approved and posted contract period" in refused.json()["errors"][0]
    charge = await http.post(
        f"{API}/Contracts/1031/Charges",
        json={"name": "Fee", "datePurchased": "2026-11-24", "unitQuantity": 1},
    )
    assert charge.status_code == 500
    assert "already approved and posted contract period" in charge.json()["errors"][0]
    rows = (await http.get(f"{API}/Contracts/1031/ServiceUnits")).json()["items"]
    posted = [r for r in rows if r["approveAndPostDate"] is not None]
    assert posted[-1]["startDate"] == "2026-10-25T00:00:00Z"
    assert posted[-1]["approveAndPostDate"] == "2026-10-25T00:00:00Z"
    assert rows[len(posted)]["approveAndPostDate"] is None
    allowed = await http.post(
        f"{API}/Contracts/1031/ServiceAdjustments",
        json={"serviceID": 501, "unitChange": 2, "effectiveDate": "2026-11-25"},
    )
    assert allowed.status_code == 200


async def test_the_posted_control_endpoint(http: httpx.AsyncClient) -> None:
    marked = await http.put(
        "/_sandbox/autotask/posted", json={"contractID": 1001, "through": "2026-11-10"}
    )
    assert marked.json() == {
        "contractID": 1001,
        "through": "2026-11-10",
        "firstOpenDay": "2026-12-01",
    }
    refused = await adjust(http, contractServiceID=7001, unitChange=1, effectiveDate="2026-11-20")
    assert refused.status_code == 500
    listed = (await http.get("/_sandbox/autotask/posted")).json()
    assert {p["contractID"] for p in listed} == {1001, 1011, 1031}
    assert (
        await http.put("/_sandbox/autotask/posted", json={"contractID": 5, "through": "2026-01-01"})
    ).status_code == 404
    assert (
        await http.put("/_sandbox/autotask/posted", json={"contractID": 1001})
    ).status_code == 400
    assert (await http.put("/_sandbox/autotask/posted", content=b"{")).status_code == 400


async def test_contract_services_are_created_and_updated(http: httpx.AsyncClient) -> None:
    created = await http.post(
        f"{API}/Contracts/1001/Services",
        json={"serviceID": 502, "unitPrice": 22, "invoiceDescription": "Premium"},
    )
    assert created.status_code == 200
    new_id = created.json()["itemId"]
    item = (await http.get(f"{API}/ContractServices/{new_id}")).json()["item"]
    assert item["contractID"] == 1001 and item["invoiceDescription"] == "Premium"
    twice = await http.post(f"{API}/Contracts/1001/Services", json={"serviceID": 502})
    assert twice.status_code == 500 and "already on contract" in twice.json()["errors"][0]
    not_recurring = await http.post(f"{API}/Contracts/1002/Services", json={"serviceID": 502})
    assert not_recurring.status_code == 500
    patched = await http.patch(
        f"{API}/Contracts/1001/Services", json={"id": 7001, "adjustedPrice": 13.2}
    )
    assert patched.json() == {"itemId": 7001}
    after = (await http.get(f"{API}/ContractServices/7001")).json()["item"]
    assert after["adjustedPrice"] == 13.2 and after["invoiceDescription"] is not None
    # October is posted: it keeps its price; November on bills the adjusted one.
    rows = (await http.get(f"{API}/Contracts/1001/ServiceUnits")).json()["items"]
    prices = {r["startDate"][:7]: r["price"] for r in rows if r["contractServiceID"] == 7001}
    assert prices["2026-10"] == 12.5 and prices["2026-11"] == 13.2
    refused = await http.patch(f"{API}/ContractServices", json={"id": 7001, "unitCost": 1})
    assert refused.status_code == 500 and "cannot be updated" in refused.json()["errors"][0]
    replaced = await http.put(f"{API}/ContractServices", json={"id": 7001, "adjustedPrice": 13.2})
    assert replaced.status_code == 200
    cleared = (await http.get(f"{API}/ContractServices/7001")).json()["item"]
    assert cleared["invoiceDescription"] is None


async def test_charges_round_trip(http: httpx.AsyncClient) -> None:
    key = "Cloud Backup setup [psasync task:3:line2:one_time]"
    created = await http.post(
        f"{API}/Contracts/1001/Charges",
        json={
            "name": "Setup fee",
            "description": key,
            "datePurchased": "2026-11-21T00:00:00",
            "unitQuantity": 1,
            "unitPrice": 50,
            "unitCost": 20,
            "isBillableToCompany": True,
        },
    )
    charge_id = created.json()["itemId"]
    found = (
        await http.post(
            f"{API}/ContractCharges/query",
            json={"Filter": [{"op": "contains", "field": "description", "value": "task:3:line2"}]},
        )
    ).json()["items"]
    assert [c["id"] for c in found] == [charge_id]
    assert found[0]["extendedCost"] == 20 and found[0]["datePurchased"] == "2026-11-21T00:00:00Z"
    patched = await http.patch(
        f"{API}/Contracts/1001/Charges", json={"id": charge_id, "unitQuantity": 2}
    )
    assert patched.json() == {"itemId": charge_id}
    item = (await http.get(f"{API}/ContractCharges/{charge_id}")).json()["item"]
    assert item["unitQuantity"] == 2 and item["description"] == key
    put = await http.put(f"{API}/Contracts/1001/Charges", json={"id": charge_id, "name": "Setup"})
    assert put.status_code == 500 and "datePurchased is required" in " ".join(put.json()["errors"])
    deleted = await http.delete(f"{API}/Contracts/1001/Charges/{charge_id}")
    assert deleted.json() == {"itemId": charge_id}
    again = await http.delete(f"{API}/Contracts/1001/Charges/{charge_id}")
    assert again.status_code == 404
    posted = await http.delete(f"{API}/Contracts/1001/Charges/9001")
    assert posted.status_code == 500 and "already approved and posted" in posted.json()["errors"][0]
    missing = await http.post(f"{API}/Contracts/1001/Charges", json={"name": "x"})
    assert missing.status_code == 500 and len(missing.json()["errors"]) == 2


async def test_a_date_with_a_positive_offset_lands_on_the_previous_day(
    http: httpx.AsyncClient,
) -> None:
    await adjust(
        http, contractServiceID=7001, unitChange=1, effectiveDate="2026-11-11T00:00:00+02:00"
    )
    assert (await units(http, 7001, "2026-11-10", "2026-11-10")) == [
        ("2026-11-10", "2026-11-30", 11)
    ]
