"""The emulator's list indexes: answers identical to filtering the whole list, at the cost of
the objects a query can match (so a benchmark measures psasync, not the emulator)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from psasync.sandbox.connectwise import resources as rs
from psasync.sandbox.connectwise.app import create_connectwise_app
from psasync.sandbox.connectwise.index import CollectionIndex
from tests.integration.connectwise.world import API, BASE, auth_headers, make_fixture

pytestmark = pytest.mark.anyio

COMPANIES = [
    {"id": 250, "identifier": "GreenLane", "name": "Green Lane LLC"},
    {"id": 251, "identifier": "Bluebird", "name": "Bluebird Dental"},
    {"id": 252, "identifier": "Cedar", "name": 'Cedar "Ridge" Architects'},
    # Two companies of one name (in other cases): a name query finds both, in list order.
    {"id": 253, "identifier": "Twin1", "name": "Twin Peaks"},
    {"id": 254, "identifier": "Twin2", "name": "TWIN PEAKS"},
]

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("company/companies", {"conditions": 'name = "Green Lane LLC"'}),
    ("company/companies", {"conditions": 'name = "green lane llc"'}),
    ("company/companies", {"conditions": 'name = "twin peaks"'}),
    ("company/companies", {"conditions": 'name = "twin peaks"', "orderBy": "id desc"}),
    # Equal names: the sort leaves them in list order, so candidates must keep that order.
    ("company/companies", {"conditions": 'name = "twin peaks"', "orderBy": "name asc"}),
    ("company/companies", {"conditions": 'name = "twin peaks"', "pageSize": 1, "page": 2}),
    ("company/companies", {"conditions": 'name = "Twin Peaks" and identifier = "Twin2"'}),
    ("company/companies", {"conditions": 'name = "Green Lane LLC" and id = 251'}),
    (
        "company/companies",
        {"conditions": 'name in ("Bluebird Dental", "Cedar \\"Ridge\\" Architects")'},
    ),
    ("company/companies", {"conditions": "id in (250, 252, 999, null)"}),
    ("company/companies", {"conditions": "id = 250.0"}),
    ("company/companies", {"conditions": 'id = 250 or name = "Bluebird Dental"'}),
    ("company/companies", {"conditions": 'name != "Green Lane LLC"'}),
    ("company/companies", {"conditions": 'name not in ("Green Lane LLC")'}),
    ("company/companies", {"conditions": 'not name = "Green Lane LLC"'}),
    ("company/companies", {"conditions": "name = null"}),
    ("company/companies", {"conditions": 'name like "twin%"'}),
    ("company/companies", {"conditions": "name = 5"}),
    ("company/companies", {"conditions": 'id = "250"'}),
    ("company/companies", {"conditions": "name = "}),
    ("company/companies/count", {"conditions": 'name = "twin peaks"'}),
    ("company/companies", {"CONDITIONS": 'name = "Bluebird Dental"'}),
    ("finance/agreements", {"conditions": "company/id = 250"}),
    ("finance/agreements", {"conditions": "company/id in (250, 251)", "orderBy": "name asc"}),
    ("finance/agreements", {"conditions": "company/id = 250 and cancelledFlag = false"}),
    ("finance/agreements", {"conditions": "id = 1211"}),
    ("finance/agreements/count", {"conditions": "company/id = 251"}),
]


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


async def answers(app: Any) -> list[tuple[int, Any, str | None]]:
    found = []
    async with client_for(app) as http:
        for path, params in QUERIES:
            response = await http.get(f"{API}/{path}", params=params, headers=auth_headers())
            found.append((response.status_code, response.json(), response.headers.get("Link")))
    return found


async def test_indexed_answers_equal_the_whole_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    fixture = make_fixture(companies=COMPANIES)
    indexed = await answers(create_connectwise_app(fixture))
    monkeypatch.setattr(CollectionIndex, "candidates", lambda _self, _conditions: None)
    whole = await answers(create_connectwise_app(make_fixture(companies=COMPANIES)))
    assert indexed == whole
    # The queries say something: matches, empty answers and refusals are all among them.
    assert {status for status, _, _ in whole} == {200, 400}
    assert any(status == 200 and body == [] for status, body, _ in whole)
    assert any(
        status == 200 and isinstance(body, list) and len(body) == 2 for status, body, _ in whole
    )


async def test_a_query_by_name_renders_only_the_companies_of_that_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    many = [{"id": 1000 + n, "identifier": f"C{n}", "name": f"Customer {n}"} for n in range(500)]
    rendered: list[int] = []
    render = rs.company_json

    def counting(company: Any, base: str) -> dict[str, Any]:
        rendered.append(company.id)
        return render(company, base)

    monkeypatch.setattr(rs, "company_json", counting)
    app = create_connectwise_app(make_fixture(companies=[*COMPANIES, *many]))
    async with client_for(app) as http:
        for name in ("Customer 7", "customer 8"):  # the first query builds the index
            rendered.clear()
            response = await http.get(
                f"{API}/company/companies",
                params={"conditions": f'name = "{name}"'},
                headers=auth_headers(),
            )
            assert response.status_code == 200
    assert [company["id"] for company in response.json()] == [1008]
    assert rendered == [1008]
