"""Reads: zone discovery, auth, items, queries and their operators, paging, metadata."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from psasync.sandbox.autotask import AutotaskFixture
from psasync.sandbox.fixture import SandboxFixture
from psasync.sandbox.server import Sandbox, build_sandbox
from tests.integration.autotask.conftest import API, HEADERS, USER

pytestmark = pytest.mark.anyio

ALL = [{"op": "exist", "field": "id"}]


async def query(http: httpx.AsyncClient, entity: str, *filters: Any, **body: Any) -> Any:
    answer = await http.post(f"{API}/{entity}/query", json={"Filter": list(filters), **body})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def ids(http: httpx.AsyncClient, entity: str, *filters: Any) -> list[int]:
    return [item["id"] for item in (await query(http, entity, *filters))["items"]]


async def test_zone_information(http: httpx.AsyncClient) -> None:
    answer = await http.get(f"{API}/zoneInformation", params={"user": USER}, headers={})
    assert answer.status_code == 200
    assert answer.json() == {
        "zoneName": "Sandbox",
        "url": "http://at.test/atservicesrest/",
        "webUrl": "http://at.test/",
        "ci": 0,
    }
    unknown = await http.get(f"{API}/zoneInformation", params={"user": "who@x.example"})
    assert unknown.status_code == 404 and unknown.json()["errors"]
    version = await http.get("/atservicesrest/versioninformation")
    assert version.json() == {"apiVersions": ["1.0"]}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {**HEADERS, "Secret": "wrong"},
        {**HEADERS, "ApiIntegrationCode": "OTHER"},
        {k: v for k, v in HEADERS.items() if k != "UserName"},
    ],
)
async def test_wrong_or_missing_credentials_are_401(
    sandbox: Sandbox, headers: dict[str, str]
) -> None:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as bare:
        answer = await bare.get(f"{API}/Contracts/1001", headers=headers)
    assert answer.status_code == 401
    assert isinstance(answer.json()["errors"], list)


async def test_a_denied_entity_is_403() -> None:
    fixture = SandboxFixture(
        autotask=AutotaskFixture.model_validate(
            {
                "credentials": [
                    {
                        "username": USER,
                        "secret": HEADERS["Secret"],
                        "integrationCode": HEADERS["ApiIntegrationCode"],
                        "deniedEntities": ["Contracts"],
                    }
                ]
            }
        )
    )
    transport = httpx.ASGITransport(app=build_sandbox(fixture).app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x", headers=HEADERS) as h:
        denied = await h.get(f"{API}/Contracts/1")
        allowed = await h.get(f"{API}/Companies/1")
    assert denied.status_code == 403 and "Contracts" in denied.json()["errors"][0]
    assert allowed.status_code == 200 and allowed.json() == {"item": None}


async def test_one_item(http: httpx.AsyncClient) -> None:
    contract = (await http.get(f"{API}/Contracts/1001")).json()["item"]
    assert contract["contractName"] == "Green Lane - Managed Cloud"
    assert contract["startDate"] == "2026-01-01T00:00:00Z"
    assert isinstance(contract["contractType"], int) and contract["description"] is None
    service = (await http.get(f"{API}/services/501")).json()["item"]
    assert service["sku"] == "M365-BUS-STD" and service["unitPrice"] == 12.5
    assert (await http.get(f"{API}/Contracts/999")).json() == {"item": None}


async def test_the_query_shape(http: httpx.AsyncClient) -> None:
    body = await query(http, "Companies", {"op": "gte", "field": "id", "value": 0})
    assert body["pageDetails"] == {
        "count": 6,
        "requestCount": 500,
        "prevPageUrl": None,
        "nextPageUrl": None,
    }
    assert [c["id"] for c in body["items"]] == sorted(c["id"] for c in body["items"])


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([{"op": "eq", "field": "sku", "value": "m365-bus-std"}], [501]),
        ([{"op": "noteq", "field": "periodType", "value": 1}], [506]),
        ([{"op": "gt", "field": "unitPrice", "value": 15}], [502, 506]),
        ([{"op": "gte", "field": "unitPrice", "value": "15.00"}], [502, 503, 506]),
        ([{"op": "lt", "field": "unitCost", "value": 0.03}], [504]),
        ([{"op": "lte", "field": "unitCost", "value": 0.03}], [504, 505]),
        ([{"op": "beginsWith", "field": "name", "value": "microsoft"}], [501, 502]),
        ([{"op": "endsWith", "field": "sku", "value": "-GB"}], [504, 505]),
        ([{"op": "contains", "field": "name", "value": "STORAGE"}], [504, 505]),
        ([{"op": "exist", "field": "sku"}], [501, 502, 503, 504, 505, 506]),
        ([{"op": "notExist", "field": "sku"}], [590]),
        ([{"op": "in", "field": "id", "value": [501, 506, 1]}], [501, 506]),
        (
            [{"op": "notIn", "field": "sku", "value": ["M365-BUS-STD", "M365-BUS-PREM"]}],
            [503, 504, 505, 506, 590],
        ),
        ([{"op": "eq", "field": "isActive", "value": False}], [590]),
        (
            [
                {
                    "op": "or",
                    "items": [
                        {"op": "eq", "field": "id", "value": 501},
                        {
                            "op": "and",
                            "items": [
                                {"op": "eq", "field": "periodType", "value": 4},
                                {"op": "eq", "field": "isActive", "value": True},
                            ],
                        },
                    ],
                }
            ],
            [501, 506],
        ),
        ([{"op": "exist", "field": "id"}, {"op": "lt", "field": "id", "value": 503}], [501, 502]),
    ],
)
async def test_query_operators(
    http: httpx.AsyncClient, filters: list[Any], expected: list[int]
) -> None:
    assert await ids(http, "Services", *filters) == expected


async def test_dates_compare_as_days(http: httpx.AsyncClient) -> None:
    found = await ids(
        http,
        "Contracts",
        {"op": "gte", "field": "startDate", "value": "2026-01-01T00:00:00"},
        {"op": "lt", "field": "StartDate", "value": "2026-03-01"},
    )
    assert found == [1001, 1002, 1003]


async def test_include_fields_trims_items(http: httpx.AsyncClient) -> None:
    body = await query(http, "Contracts", *ALL, IncludeFields=["id", "contractName"])
    assert set(body["items"][0]) == {"id", "contractName"}


async def test_paging_by_walking_ids(http: httpx.AsyncClient) -> None:
    seen: list[int] = []
    last = -1
    while True:
        body = await query(
            http, "Contracts", {"op": "gt", "field": "id", "value": last}, MaxRecords=2
        )
        seen += [item["id"] for item in body["items"]]
        if body["pageDetails"]["nextPageUrl"] is None:
            break
        last = body["items"][-1]["id"]
    assert seen == [1001, 1002, 1003, 1011, 1021, 1031]


async def test_next_page_url_is_posted_with_the_same_body(http: httpx.AsyncClient) -> None:
    body = {"MaxRecords": 4, "Filter": ALL}
    first = (await http.post(f"{API}/Contracts/query", json=body)).json()
    url = first["pageDetails"]["nextPageUrl"]
    assert url.startswith("http://at.test/atservicesrest/v1.0/Contracts/query/next?paging=")
    second = (await http.post(url, json=body)).json()
    assert [c["id"] for c in second["items"]] == [1021, 1031]
    assert second["pageDetails"]["nextPageUrl"] is None
    assert (await http.get(url)).status_code == 405


async def test_search_and_count(http: httpx.AsyncClient) -> None:
    search = '{"Filter": [{"op": "eq", "field": "companyID", "value": 29683481}]}'
    found = (await http.get(f"{API}/Contracts/query", params={"search": search})).json()
    assert [c["id"] for c in found["items"]] == [1001, 1002, 1003]
    counted = await http.get(f"{API}/Contracts/query/count", params={"search": search})
    assert counted.json() == {"queryCount": 3}
    posted = await http.post(f"{API}/Services/query/count", json={"Filter": ALL})
    assert posted.json() == {"queryCount": 7}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Filter": []}, "at least one filter"),
        ({"filter": [{"op": "eq", "field": "colour", "value": 1}]}, "Unable to find colour"),
        ({"Filter": [{"op": "like", "field": "id", "value": 1}]}, "not a valid filter operator"),
        ({"Filter": ALL, "MaxRecords": 501}, "MaxRecords"),
        ({"Filter": ALL, "MaxRecords": 0}, "MaxRecords"),
        ({"Filter": [{"op": "eq", "field": "id", "value": "abc"}]}, "not valid for id"),
        ({"Filter": [{"op": "contains", "field": "id", "value": "1"}]}, "needs a string field"),
        ({"Filter": [{"op": "in", "field": "id", "value": 1}]}, "list of values"),
        ({"Filter": [{"op": "eq", "field": "x", "udf": True, "value": 1}]}, "user-defined"),
        ({"Filter": ALL, "IncludeFields": ["nope"]}, "Unable to find nope"),
    ],
)
async def test_bad_queries_are_the_vendors_500(
    http: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    answer = await http.post(f"{API}/Contracts/query", json=body)
    assert answer.status_code == 500
    assert message in answer.json()["errors"][0]


async def test_adjustments_are_never_queryable(http: httpx.AsyncClient) -> None:
    for answer in (
        await http.post(f"{API}/ContractServiceAdjustments/query", json={"Filter": ALL}),
        await http.get(f"{API}/ContractServiceAdjustments/1"),
        await http.get(f"{API}/Contracts/1001/ServiceAdjustments"),
    ):
        assert answer.status_code == 405
        assert "does not support http method" in answer.json()["Message"]


async def test_unsupported_methods_and_paths(http: httpx.AsyncClient) -> None:
    assert (await http.delete(f"{API}/Contracts/1001")).status_code == 405
    assert (await http.post(f"{API}/Contracts", json={})).status_code == 405
    assert (await http.post(f"{API}/Contracts/1001/ServiceUnits", json={})).status_code == 405
    missing = await http.get(f"{API}/Tickets/1")
    assert missing.status_code == 404 and "No HTTP resource" in missing.json()["Message"]


async def test_entity_information_and_picklists(http: httpx.AsyncClient) -> None:
    info = (await http.get(f"{API}/ContractServiceAdjustments/entityInformation")).json()["info"]
    assert info["canCreate"] is True and info["canQuery"] is False
    fields = (await http.get(f"{API}/Contracts/entityInformation/fields")).json()["fields"]
    by_name = {f["name"]: f for f in fields}
    period = by_name["contractPeriodType"]
    assert period["isPickList"] is True
    labels = {v["label"]: v["value"] for v in period["picklistValues"]}
    assert set(labels) == {"Monthly", "Quarterly", "Semi-Annual", "Yearly"}
    contract = (await http.get(f"{API}/Contracts/1021")).json()["item"]
    assert str(contract["contractPeriodType"]) == labels["Yearly"]
    types = {v["label"]: v for v in by_name["contractType"]["picklistValues"]}
    assert str(contract["contractType"]) == types["Recurring Service"]["value"]
    assert set(types["Recurring Service"]) >= {"value", "label", "isActive", "isDefaultValue"}
    status = {v["label"]: v["value"] for v in by_name["status"]["picklistValues"]}
    assert str(contract["status"]) == status["Active"]
    service_fields = (await http.get(f"{API}/Services/entityInformation/fields")).json()
    period_types = next(f for f in service_fields["fields"] if f["name"] == "periodType")
    assert {v["label"] for v in period_types["picklistValues"]} >= {"Monthly", "Yearly"}
    udfs = await http.get(f"{API}/Contracts/entityInformation/userDefinedFields")
    assert udfs.json() == {"fields": []}


async def test_child_collections(http: httpx.AsyncClient) -> None:
    services = (await http.get(f"{API}/Contracts/1001/Services")).json()
    assert [s["id"] for s in services["items"]] == [7001]
    assert services["pageDetails"]["count"] == 1
    one = (await http.get(f"{API}/Contracts/1001/Services/7001")).json()["item"]
    assert one["serviceID"] == 501 and one["adjustedPrice"] is None
    assert (await http.get(f"{API}/Contracts/1011/Services/7001")).json() == {"item": None}
    units = (await http.get(f"{API}/Contracts/1001/ServiceUnits")).json()["items"]
    assert len(units) == 24 and units[0]["startDate"] == "2026-01-01T00:00:00Z"
    charges = (await http.get(f"{API}/Contracts/1001/Charges")).json()["items"]
    assert charges[0]["name"] == "Onboarding" and charges[0]["isBilled"] is True


async def test_threshold_information_counts_itself(http: httpx.AsyncClient) -> None:
    first = (await http.get(f"{API}/ThresholdInformation")).json()
    second = (await http.get(f"{API}/ThresholdInformation")).json()
    assert first["externalRequestThreshold"] == 10_000
    assert first["requestThresholdTimeframe"] == 60
    assert second["currentTimeframeRequestCount"] == first["currentTimeframeRequestCount"] + 1
