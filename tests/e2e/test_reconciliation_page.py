"""The reconciliation page end to end (issue 16, item 3), in-process with a real job worker on
the demo fixture's drift customers: Run reconciliation follows its job and then shows the
report — who and when, totals per kind and per customer, both sides of each item, the SVG
charts with their labels and one bar per kind —, the filters keep the address, a fix chosen on
the page marks its items fixed, and the CSV downloads with the same filters. Bad input is a 4xx
page, never a 500."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from psasync.jobs.app import ProcrastinateQueue, create_job_app, ensure_queue_schema, is_postgresql
from tests.e2e.conftest import NORTHWIND, World
from tests.e2e.test_reconciliation import (
    DRIFT,
    FOXGLOVE,
    IRONWOOD,
    KESTREL,
    RECONCILE,
    Worker,
    reconcile,
)

pytestmark = pytest.mark.anyio

PAGE = "/integrations/connectwise/reconciliation"
KINDS_IN_DRIFT = 7  # every kind but manualEdit


@pytest.fixture
async def worker(world: World) -> AsyncIterator[Worker]:
    """A job worker on the test database, as the API's reconciliation tests have."""
    url = world.services.settings.database_url
    app = create_job_app(url)
    async with app.open_async():
        await ensure_queue_schema(app, url)
        if is_postgresql(url):
            await app.connector.execute_query_async(
                "TRUNCATE procrastinate_jobs RESTART IDENTITY CASCADE"
            )
        world.services.queue = ProcrastinateQueue(app)
        try:
            yield Worker(app, world)
        finally:
            world.services.queue = None


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with world.ready() as ready:
        answer = await ready.put(
            "/api/v1/connectwise/automation", json={"marketplaceUser": NORTHWIND}
        )
        assert answer.status_code == 200, answer.text
        yield ready


def form(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    return {"csrf_token": client.headers["X-CSRF-Token"], **fields}


def item_rows(html: str) -> list[str]:
    return re.findall(r'<tr id="item-[0-9a-f]{12}" data-kind="(\w+)"', html)


def svg(html: str, chart_id: str) -> str:
    found = re.search(rf'<svg [^>]*id="{chart_id}".*?</svg>', html, re.S)
    assert found, f"no chart {chart_id}"
    return found.group(0)


async def test_the_page_shows_the_report_its_charts_and_filters(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    empty = await client.get(PAGE)
    assert empty.status_code == 200 and 'id="no-report"' in empty.text

    report = await reconcile(client, worker, DRIFT)
    page = await client.get(PAGE)
    assert page.status_code == 200, page.text
    html = page.text
    assert f"Report #{report['id']}" in html
    assert NORTHWIND["username"] in html and "1 Dec 2026" in html
    assert sorted(item_rows(html)) == sorted(item["kind"] for item in report["items"])

    # Totals per kind and per customer, in the house formatting, said in words too.
    kinds = re.search(r'<table id="totals-by-kind">.*?</table>', html, re.S)
    assert kinds and kinds.group(0).count("<tr data-kind=") == KINDS_IN_DRIFT
    assert "$100.00" in kinds.group(0) and "under-billed by $100.00 a month" in kinds.group(0)
    assert "−$30.00" in kinds.group(0) and "over-billed by $30.00 a month" in kinds.group(0)
    customers = re.search(r'<table id="totals-by-customer">.*?</table>', html, re.S)
    assert customers and all(customer in customers.group(0) for customer in DRIFT)

    # Both sides of an item, and its fix in plain words.
    foxglove = re.search(r'<tr id="item-\w+" data-kind="quantity".*?</tr>', html, re.S)
    assert foxglove and FOXGLOVE in foxglove.group(0)
    row = foxglove.group(0)
    assert "10 × M365-BUS-PREM at $22.00 monthly" in row  # the marketplace
    assert re.search(r"8 at \$22\.00 on .*\(#1411\)", row)  # ConnectWise
    assert "under-billed by $44.00 a month" in row
    assert re.search(r"End addition #\d+ \(8 × M365-BUS-PREM\) on 30 Nov 2026", row)
    assert "Add 10 × M365-BUS-PREM at $22.00 from 1 Dec 2026" in row

    # The charts: server-side SVG, labelled, one bar per kind with items, numbers in tables.
    by_kind = svg(html, "chart-kinds-usd")
    assert 'role="img"' in by_kind and 'aria-label="Monthly impact by kind (USD)"' in by_kind
    assert "<title" in by_kind and "<desc" in by_kind
    assert len(re.findall(r'<rect class="bar ', by_kind)) == KINDS_IN_DRIFT
    assert len(re.findall(r'class="bar bar-over"', by_kind)) == 2  # duplicate, orphan
    top = svg(html, "chart-customers-usd")
    assert 'aria-label="Top ' in top and "<title" in top
    trend = svg(html, "chart-trend-usd")
    assert len(re.findall(r'<circle class="point', trend)) == 1
    assert 'id="drift-trend"' in html and "<script" not in html.split("</head>")[1]

    # Filters keep the address, narrow the items and totals, and the CSV link follows them.
    only = await client.get(PAGE, params={"kind": "duplicate"})
    assert only.status_code == 200
    assert item_rows(only.text) == ["duplicate"]
    assert '<option value="duplicate" selected>' in only.text
    assert f"{PAGE}.csv?kind=duplicate" in only.text
    assert len(re.findall(r'<rect class="bar ', svg(only.text, "chart-kinds-usd"))) == 1
    mine = await client.get(PAGE, params={"customerId": KESTREL})
    assert item_rows(mine.text) == ["cancelledAgreement"]
    assert f'<option value="{KESTREL}" selected>' in mine.text

    # A second report adds a point to the trend.
    await reconcile(client, worker, DRIFT)
    again = await client.get(PAGE)
    assert len(re.findall(r'<circle class="point', svg(again.text, "chart-trend-usd"))) == 2


async def test_run_from_the_page_follows_the_job_then_shows_the_report(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    answer = await client.post(f"{PAGE}/run", data=form(client, kind="orphan"))
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith(f"{PAGE}?") and "kind=orphan" in location and "job=" in location
    waiting = await client.get(location)
    assert 'id="run-status"' in waiting.text and 'hx-trigger="every 2s"' in waiting.text
    job_id = re.search(r"job=(\d+)", location)
    assert job_id and f"/integrations/connectwise/jobs/{job_id.group(1)}" in waiting.text
    await worker.run()
    polled = await client.get(location, headers={"HX-Request": "true", "HX-Trigger": "run-status"})
    assert polled.headers.get("HX-Refresh") == "true"
    done = await client.get(location)
    assert 'hx-trigger="every 2s"' not in done.text
    assert "Report #" in done.text and "item" in done.text
    assert item_rows(done.text) and set(item_rows(done.text)) == {"orphan"}


async def test_a_fix_chosen_on_the_page_marks_its_items_fixed(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    report = await reconcile(client, worker, DRIFT)
    by_kind = {item["kind"]: item for item in report["items"]}
    chosen = by_kind["quantity"]["id"]
    answer = await client.post(
        f"{PAGE}/fix",
        data=form(client, item_id=chosen, all_kind="duplicate", effective="nextPeriod"),
    )
    assert answer.status_code == 303, answer.text
    await worker.run()
    page = await client.get(answer.headers["location"])
    assert "2 fixed, 0 already fixed, 0 failed of 2 items." in page.text
    for kind in ("quantity", "duplicate"):
        row = re.search(rf'<tr id="item-\w+" data-kind="{kind}".*?</tr>', page.text, re.S)
        assert row and 'fix-state">Fixed<' in row.group(0), kind
        assert 'name="item_id"' not in row.group(0)  # nothing left to choose
    missing = re.search(r'<tr id="item-\w+" data-kind="missing".*?</tr>', page.text, re.S)
    assert missing and 'name="item_id"' in missing.group(0)
    fixed = (await client.get(RECONCILE)).json()["items"]
    assert {i["kind"] for i in fixed if i["fixedAt"]} == {"quantity", "duplicate"}

    again = await reconcile(client, worker, [FOXGLOVE, IRONWOOD])
    assert again["items"] == []


async def test_the_csv_downloads_with_the_pages_filters(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    none_yet = await client.get(f"{PAGE}.csv")
    assert none_yet.status_code == 404
    report = await reconcile(client, worker, DRIFT)
    whole = await client.get(f"{PAGE}.csv")
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("text/csv")
    assert "attachment" in whole.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(whole.text)))
    assert {row["itemId"] for row in rows} == {item["id"] for item in report["items"]}
    orphans = await client.get(f"{PAGE}.csv", params={"kind": "orphan"})
    assert [row["kind"] for row in csv.DictReader(io.StringIO(orphans.text))] == ["orphan"]


async def test_bad_input_is_a_page_that_says_why(
    world: World, client: httpx.AsyncClient, worker: Worker
) -> None:
    answer = await client.post(f"{PAGE}/fix", data=form(client, item_id="0123456789ab"))
    assert answer.status_code == 404 and "run one first" in answer.text
    await reconcile(client, worker, [FOXGLOVE])
    cases = [
        ({}, 422, "Tick the items to fix"),
        ({"item_id": "nope"}, 422, "Choose items and kinds"),
        ({"all_kind": "sideways"}, 422, "Choose items and kinds"),
        ({"item_id": "0123456789ab", "effective": "later"}, 422, "Choose when the fix"),
        ({"item_id": "0123456789ab"}, 404, "no item 0123456789ab"),
    ]
    for fields, status, message in cases:
        answer = await client.post(f"{PAGE}/fix", data=form(client, **fields))
        assert answer.status_code == status, (fields, answer.text[:300])
        assert message in answer.text, fields
    answer = await client.post(f"{PAGE}/run", data=form(client, price_source="sideways"))
    assert answer.status_code == 422 and "where prices come from" in answer.text
    answer = await client.get(PAGE, params={"kind": "sideways"})
    assert answer.status_code == 400 and "There is no kind" in answer.text
    for params in ({"job": "0"}, {"offset": "-1"}, {"customerId": "x" * 65}):
        assert (await client.get(PAGE, params=params)).status_code in (400, 422), params
    assert (await client.get(PAGE, params={"job": "999999"})).status_code == 200
    async with world.client() as anonymous:
        gone = await anonymous.get(PAGE)
        assert gone.status_code == 303 and "/login" in gone.headers["location"]
        refused = await anonymous.post(f"{PAGE}/run", data={})
        assert refused.status_code in (303, 403)


@pytest.mark.usefixtures("worker")
async def test_without_an_integration_user_run_says_why(world: World) -> None:
    async with world.ready() as client:
        page = await client.get(PAGE)
        assert 'id="why-cannot-run"' in page.text
        answer = await client.post(f"{PAGE}/run", data=form(client))
        assert answer.status_code == 422 and "integration user" in answer.text
