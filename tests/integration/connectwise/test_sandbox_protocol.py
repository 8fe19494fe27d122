"""The emulator's protocol, pinned over raw HTTP: auth, clientId, queries, paging, errors."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from psasync.adapters.connectwise.paging import parse_link_header
from tests.integration.connectwise.world import (
    API,
    BASE,
    CLIENT_ID,
    COMPANY_ID,
    PRIVATE_KEY,
    PUBLIC_KEY,
    Harness,
    auth_headers,
    make_fixture,
)

pytestmark = pytest.mark.anyio


def basic(token: str) -> dict[str, str]:
    encoded = base64.b64encode(token.encode()).decode()
    return {"Authorization": f"Basic {encoded}", "clientId": CLIENT_ID}


async def get(http: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    return await http.get(f"{API}/{path}", params=params, headers=auth_headers())


# Authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"clientId": CLIENT_ID},
        basic(f"{COMPANY_ID}+{PUBLIC_KEY}:wrong-private-key"),
        basic(f"{COMPANY_ID}+other-public-key:{PRIVATE_KEY}"),
        basic(f"othercompany+{PUBLIC_KEY}:{PRIVATE_KEY}"),
        basic(f"{PUBLIC_KEY}:{PRIVATE_KEY}"),
        {"Authorization": "Basic not-base64!", "clientId": CLIENT_ID},
        {"Authorization": "Bearer abc", "clientId": CLIENT_ID},
    ],
    ids=["none", "bad-private", "bad-public", "bad-company", "no-plus", "garbage", "bearer"],
)
async def test_bad_credentials_get_401_with_the_vendor_body(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await http.get(f"{API}/company/companies", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "Unauthorized" and body["message"]
    assert PRIVATE_KEY not in response.text


async def test_a_missing_client_id_gets_400(http: httpx.AsyncClient) -> None:
    headers = {**auth_headers(), "clientId": ""}
    response = await http.get(f"{API}/company/companies", headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "ConnectWiseApi"
    assert "clientId" in response.json()["message"]


async def test_an_unregistered_client_id_gets_400(http: httpx.AsyncClient) -> None:
    headers = {**auth_headers(), "clientId": "00000000-0000-0000-0000-000000000000"}
    response = await http.get(f"{API}/company/companies", headers=headers)
    assert response.status_code == 400 and "not registered" in response.json()["message"]


async def test_valid_credentials_are_served(http: httpx.AsyncClient) -> None:
    response = await get(http, "company/companies")
    assert response.status_code == 200
    assert [c["identifier"] for c in response.json()] == ["GreenLane", "Bluebird", "Cedar"]


async def test_company_info_is_public_and_names_the_codebase(http: httpx.AsyncClient) -> None:
    response = await http.get(f"{BASE}/login/companyinfo/NorthWind")
    assert response.status_code == 200
    info = response.json()
    assert info["Codebase"] == "v4_6_release/"
    assert info["CompanyID"] == COMPANY_ID
    assert {"CompanyName", "VersionCode", "VersionNumber", "IsCloud", "SiteUrl"} <= set(info)
    assert (await http.get(f"{BASE}/login/companyinfo/nobody")).status_code == 404


# Shapes ---------------------------------------------------------------------------------------


async def test_an_addition_has_the_vendor_shape(http: httpx.AsyncClient) -> None:
    response = await get(http, "finance/agreements/1201/additions/9001")
    addition = response.json()
    assert addition["product"]["id"] == 301 and addition["product"]["identifier"] == "M365-BUS-STD"
    assert addition["product"]["_info"]["product_href"] == f"{API}/procurement/catalog/301"
    assert addition["_info"]["agreement_href"] == f"{API}/finance/agreements/1201"
    assert addition["agreementId"] == 1201
    assert addition["effectiveDate"] == "2026-01-01T00:00:00Z"
    assert "cancelledDate" not in addition, "the vendor leaves null fields out"
    # Exact numbers, computed: 10 × 12.50 and 10 × 10.00.
    assert '"extPrice":125.00' in response.text and '"extCost":100.00' in response.text
    assert '"margin":25.00' in response.text and '"unitPrice":12.50' in response.text


async def test_an_agreement_carries_references_with_info(http: httpx.AsyncClient) -> None:
    agreement = (await get(http, "finance/agreements/1201")).json()
    assert agreement["company"] == {
        "id": 250,
        "identifier": "GreenLane",
        "name": "Green Lane LLC",
        "_info": {"company_href": f"{API}/company/companies/250"},
    }
    assert agreement["currency"]["currencyIdentifier"] == "USD"
    assert agreement["currency"]["numberOfDecimals"] == 2
    assert agreement["billingCycle"]["id"] == 1
    assert agreement["billStartDate"] == "2026-01-01T00:00:00Z"
    cancelled = (await get(http, "finance/agreements/1202")).json()
    assert "currency" not in cancelled and "billStartDate" not in cancelled


@pytest.mark.parametrize(
    "path",
    [
        "finance/agreements/9999",
        "finance/agreements/9999/additions",
        "finance/agreements/1211/additions/9001",
        "company/companies/1",
        "procurement/catalog/1",
        "no/such/thing",
        "finance/agreements/abc",
    ],
)
async def test_unknown_objects_and_paths_get_the_vendor_404(
    http: httpx.AsyncClient, path: str
) -> None:
    response = await get(http, path)
    assert response.status_code == 404 and response.json()["code"] == "NotFound"


async def test_an_unsupported_method_gets_405(http: httpx.AsyncClient) -> None:
    # Agreements themselves are read-only in the sandbox (additions may be deleted).
    response = await http.delete(f"{API}/finance/agreements/1201", headers=auth_headers())
    assert response.status_code == 405 and "DELETE" in response.json()["message"]


# Conditions, ordering, counting ----------------------------------------------------------------


async def ids(http: httpx.AsyncClient, path: str, **params: Any) -> list[int]:
    response = await get(http, path, **params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ("company/id=250", [1201, 1202]),
        ('agreementStatus = "active"', [1201, 1211]),
        ('company/id = 250 and agreementStatus != "Active"', [1202]),
        ("company/id = 251 or (cancelledFlag = true and prorateFlag = true)", [1202, 1211]),
        ("not (company/id = 250)", [1211]),
        ("id in (1201, 1211, 42)", [1201, 1211]),
        ("id not in (1201)", [1202, 1211]),
        ('name like "Green%"', [1201, 1202]),
        ('name like "%lane - _nnual"', [1202]),
        ('name contains "yen"', [1211]),
        ('name not contains "Green"', [1211]),
        ("billStartDate >= [2026-01-01T00:00:00Z]", [1201]),
        ("billStartDate < [2026-01-01]", [1211]),
        ("currency/id = null", [1202]),
        ('currency/id != null and currency/currencyIdentifier = "JPY"', [1211]),
        (
            # and binds tighter: (start > Jul 2025 and Green Lane) or 1211
            "startDate > [2025-07-01T00:00:00Z] AND company/id = 250 OR id = 1211",
            [1201, 1211],
        ),
    ],
)
async def test_conditions_filter_like_the_vendor(
    http: httpx.AsyncClient, conditions: str, expected: list[int]
) -> None:
    assert await ids(http, "finance/agreements", conditions=conditions) == expected


async def test_quoted_strings_with_escapes_match_exactly(http: httpx.AsyncClient) -> None:
    found = await ids(http, "company/companies", conditions=r'name = "Cedar \"Ridge\" Architects"')
    assert found == [252]


async def test_addition_conditions_see_numbers_and_descriptions(http: httpx.AsyncClient) -> None:
    path = "finance/agreements/1201/additions"
    assert await ids(http, path, conditions="quantity > 1.5") == [9001]
    assert await ids(http, path, conditions="unitPrice <= 0.025 and taxableFlag = true") == [9002]
    assert await ids(http, path, conditions='description contains "task:3:line1"') == [9002]
    assert await ids(http, path, conditions="extPrice = 125") == [9001]


@pytest.mark.parametrize(
    "conditions",
    [
        "nosuchfield = 1",
        'company/id = "250"',
        "name = 250",
        "cancelledFlag > true",
        "id like 12",
        'startDate = "2026-01-01"',
        "id = ",
        "(id = 1201",
        'name = "unterminated',
        "id = 1 and",
        "startDate = [yesterday]",
        "id < null",
        "id @ 3",
    ],
)
async def test_bad_conditions_get_400_naming_the_problem(
    http: httpx.AsyncClient, conditions: str
) -> None:
    response = await get(http, "finance/agreements", conditions=conditions)
    assert response.status_code == 400
    assert response.json()["code"] == "ConnectWiseApi"
    assert response.json()["message"].startswith("conditions:")


async def test_order_by_sorts_and_nulls_come_first_ascending(http: httpx.AsyncClient) -> None:
    assert await ids(http, "finance/agreements", orderBy="name desc") == [1201, 1202, 1211]
    assert await ids(http, "finance/agreements", orderBy="billStartDate asc, id desc") == [
        1202,
        1211,
        1201,
    ]
    assert await ids(http, "finance/agreements", orderBy="billStartDate desc") == [1201, 1211, 1202]
    response = await get(http, "finance/agreements", orderBy="color asc")
    assert response.status_code == 400 and "color" in response.json()["message"]
    assert (await get(http, "finance/agreements", orderBy="id sideways")).status_code == 400


async def test_counts_use_the_same_conditions(http: httpx.AsyncClient) -> None:
    response = await get(http, "finance/agreements/count", conditions="company/id = 250")
    assert response.json() == {"count": 2}
    assert (await get(http, "company/companies/count")).json() == {"count": 3}
    assert (await get(http, "finance/agreements/1201/additions/count")).json() == {"count": 2}
    assert (
        await get(http, "procurement/catalog/count", conditions='productClass = "Bundle"')
    ).json() == {"count": 1}


async def test_unknown_query_parameters_are_ignored(http: httpx.AsyncClient) -> None:
    assert await ids(http, "company/companies", fields="id,name", colour="blue") == [250, 251, 252]


# Paging ---------------------------------------------------------------------------------------


def many_companies(count: int) -> Harness:
    companies = [
        {"id": n, "identifier": f"C{n}", "name": f"Company {n:05d}"} for n in range(1, count + 1)
    ]
    return Harness(fixture=make_fixture(companies=companies, agreements=[], additions=[]))


async def test_pages_default_to_25_and_link_to_first_prev_next_last() -> None:
    harness = many_companies(60)
    async with harness.http() as http:
        first = await get(http, "company/companies", conditions="id > 0")
        assert len(first.json()) == 25
        links = parse_link_header(first.headers["Link"])
        assert set(links) == {"next", "last"}
        assert links["next"].endswith("&pageSize=25&page=2"), "the page is the URL's last parameter"
        assert "conditions=id" in links["next"], "later pages keep the conditions"
        assert links["last"].endswith("page=3")
        second = await http.get(links["next"], headers=auth_headers())
        assert [c["id"] for c in second.json()] == list(range(26, 51))
        assert set(parse_link_header(second.headers["Link"])) == {"first", "prev", "next", "last"}
        last = await http.get(links["last"], headers=auth_headers())
        assert [c["id"] for c in last.json()] == list(range(51, 61))
        assert set(parse_link_header(last.headers["Link"])) == {"first", "prev"}


async def test_page_size_is_capped_at_1000() -> None:
    harness = many_companies(1003)
    async with harness.http() as http:
        response = await get(http, "company/companies", pageSize=5000)
        assert len(response.json()) == 1000
        assert parse_link_header(response.headers["Link"])["next"].endswith("pageSize=1000&page=2")


async def test_a_single_page_has_no_link_header_and_bad_paging_is_400(
    http: httpx.AsyncClient,
) -> None:
    response = await get(http, "company/companies", pageSize=10)
    assert "Link" not in response.headers
    assert (await get(http, "company/companies", page=9)).json() == []
    for bad in ({"page": "0"}, {"page": "two"}, {"pageSize": "-1"}):
        assert (await get(http, "company/companies", **bad)).status_code == 400


async def test_query_parameter_names_are_case_insensitive(http: httpx.AsyncClient) -> None:
    response = await get(http, "company/companies", PAGESIZE=1, Conditions="id >= 251")
    assert [c["id"] for c in response.json()] == [251]
