"""The emulator's agreement page: the stand-in for the ConnectWise screen psasync links to."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from psasync.adapters.connectwise import agreement_record_url
from tests.integration.connectwise.world import (
    API,
    BASE,
    FIXTURE,
    Harness,
    auth_headers,
    make_fixture,
    site,
)

pytestmark = pytest.mark.anyio


def link(agreement_id: int, **changes: str) -> str:
    return agreement_record_url(site(**changes), codebase="v4_6_release", agreement_id=agreement_id)


class Cells(HTMLParser):
    """The text of every ``<dt>``/``<dd>`` pair and every table row of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.facts: dict[str, str] = {}
        self.rows: list[list[str]] = []
        self._tag: str | None = None
        self._text = ""
        self._term = ""
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        if tag == "tr":
            self._row = []
        if tag in ("dt", "dd", "td"):
            self._tag, self._text = tag, ""

    def handle_data(self, data: str) -> None:
        if self._tag:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "dt":
            self._term = self._text
        elif tag == "dd":
            self.facts[self._term] = self._text
        elif tag == "td" and self._row is not None:
            self._row.append(self._text)
        elif tag == "tr" and self._row:
            self.rows.append(self._row)
        if tag in ("dt", "dd", "td"):
            self._tag = None


def cells(page: str) -> Cells:
    parsed = Cells()
    parsed.feed(page)
    return parsed


async def test_the_page_shows_the_agreement_and_its_additions(http: httpx.AsyncClient) -> None:
    answer = await http.get(link(1201))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    page = cells(answer.text)
    assert page.facts["Name"] == "Green Lane - Managed Cloud"
    assert page.facts["Company"] == "Green Lane LLC (GreenLane)"
    assert (page.facts["Billing cycle"], page.facts["Currency"]) == ("Monthly", "USD")
    assert page.facts["Status"] == "Active"
    assert page.rows == [
        [
            "M365-BUS-STD",
            "Microsoft 365 Business Standard",
            "10",
            "12.50",
            "10.00",
            "2026-01-01",
            "—",
            "Billable",
            "No",
        ],
        [
            "STOR-USAGE-GB",
            "Storage [psasync task:3:line1:one_time]",
            "1.5",
            "0.025",
            "0.012",
            "2026-02-01",
            "2026-02-28",
            "DoNotBill",
            "Yes",
        ],
    ]


async def test_the_page_shows_what_the_sandbox_holds_now(http: httpx.AsyncClient) -> None:
    additions = f"{API}/finance/agreements/1201/additions"
    created = await http.post(
        additions,
        json={
            "product": {"id": 301},
            "billCustomer": "Billable",
            "quantity": 2,
            "unitPrice": 13.2,
            "unitCost": 10,
            "effectiveDate": "2026-11-11T00:00:00Z",
            "description": "Upgrade [psasync task:1:line1:recurring]",
        },
        headers=auth_headers(),
    )
    assert created.status_code == 201, created.text
    patched = await http.patch(
        f"{additions}/9001",
        json=[{"op": "replace", "path": "cancelledDate", "value": "2026-11-10T00:00:00Z"}],
        headers=auth_headers(),
    )
    assert patched.status_code == 200, patched.text
    page = cells((await http.get(link(1201))).text)
    assert [row[3] for row in page.rows] == ["12.50", "0.025", "13.20"]
    assert page.rows[0][6] == "2026-11-10"
    assert page.rows[2][:3] == ["M365-BUS-STD", "Upgrade [psasync task:1:line1:recurring]", "2"]


async def test_an_agreement_without_additions_says_so(http: httpx.AsyncClient) -> None:
    answer = await http.get(link(1202))
    assert answer.status_code == 200
    page = cells(answer.text)
    assert page.rows == []
    assert page.facts["Status"] == "Cancelled (cancelled)"
    assert page.facts["Currency"] == "—"
    assert "This agreement has no additions." in answer.text


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("recordType=AgreementFV&recid=4242&companyName=northwind", "Agreement &#x27;4242&#x27;"),
        ("recordType=AgreementFV&recid=abc&companyName=northwind", "Agreement &#x27;abc&#x27;"),
        ("recordType=AgreementFV&recid=%C2%B2&companyName=northwind", "Agreement"),
        ("recordType=AgreementFV&companyName=northwind", "Agreement"),
        ("recordType=ServiceFv&recid=1201&companyName=northwind", "record type"),
        ("recid=1201&companyName=northwind", "record type"),
        ("recordType=AgreementFV&recid=1201&companyName=contoso", "Company"),
        ("recordType=AgreementFV&recid=1201", "Company"),
    ],
)
async def test_unknown_records_are_a_404_page(
    http: httpx.AsyncClient, query: str, reason: str
) -> None:
    answer = await http.get(
        f"{BASE}/v4_6_release/services/system_io/router/openrecord.rails?{query}"
    )
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Record not found" in answer.text and reason in answer.text


async def test_parameter_names_and_values_are_read_case_insensitively(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get(
        f"{BASE}/v4_6_release/services/system_io/router/openrecord.rails",
        params={"RECORDTYPE": "agreementfv", "RecId": "1211", "companyname": "NorthWind"},
    )
    assert answer.status_code == 200
    page = cells(answer.text)
    assert page.facts["Currency"] == "JPY"
    assert page.rows == [], "Bluebird's agreement has no additions"


async def test_every_value_is_escaped_and_nothing_is_loaded_from_elsewhere() -> None:
    hostile = "<script>alert('x')</script> & \"Sons\""
    companies = [{**company, "name": hostile[:50]} for company in FIXTURE["companies"]]
    agreements = [{**FIXTURE["agreements"][0], "name": f"<b>{hostile}</b>"}]
    additions = [
        {**addition, "description": "<img src=x onerror=alert(1)>"}
        for addition in FIXTURE["additions"]
    ]
    harness = Harness(
        fixture=make_fixture(companies=companies, agreements=agreements, additions=additions)
    )
    async with harness.http() as http:
        answer = await http.get(link(1201))
    assert answer.status_code == 200
    assert "<script" not in answer.text and "<img" not in answer.text and "<b>" not in answer.text
    assert "&lt;script&gt;" in answer.text
    page = cells(answer.text)
    assert page.tags.isdisjoint({"script", "img", "link", "iframe", "b"})
    assert page.attributes.isdisjoint({"src", "href", "onerror"}), "nothing loads from elsewhere"
    assert not re.search(r"@import|url\(", answer.text)
    assert page.facts["Name"] == f"<b>{hostile}</b>"
    assert page.rows[0][1] == "<img src=x onerror=alert(1)>"


async def test_the_page_needs_no_api_credentials_and_is_counted(harness: Harness) -> None:
    async with harness.http() as http:
        answer = await http.get(link(1201), headers={"Authorization": "Basic bm9wZQ=="})
    assert answer.status_code == 200
    path = "/v4_6_release/services/system_io/router/openrecord.rails"
    assert harness.calls.snapshot() == {("GET", path): 1}
