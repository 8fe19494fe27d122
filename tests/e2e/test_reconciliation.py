"""Reconciliation end to end (issue 16), through the REST API and a real job worker, on the demo
fixture's drift customers: the report lists exactly their drift with the right monthly
impacts; fixing it all and re-running shows none; a hand edit of a line psasync wrote is a
``manualEdit``; a fix into an invoiced period goes to the next period; a fix cut short by
dropped connections resumes without writing anything twice. CSV and bad input too."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import procrastinate
import pytest

from psasync.adapters.connectwise import ConnectWiseClient, ConnectWiseSite
from psasync.adapters.connectwise.mapping import AdditionChanges
from psasync.jobs.app import ProcrastinateQueue, create_job_app, ensure_queue_schema, is_postgresql
from psasync.sandbox.faults import FaultSettings
from tests.e2e.conftest import CONNECTWISE, NORTHWIND, SANDBOX, World

pytestmark = pytest.mark.anyio

RECONCILE = "/api/v1/connectwise/reconciliation"
ELM, FOXGLOVE, HAWTHORN, IRONWOOD, JUNIPER, KESTREL, LINDEN = (
    "1000048560",
    "1000048561",
    "1000048562",
    "1000048563",
    "1000048564",
    "1000048565",
    "1000048566",
)
DRIFT = [ELM, FOXGLOVE, HAWTHORN, IRONWOOD, JUNIPER, KESTREL, LINDEN]
# What the demo's drift customers show on D = 2026-12-01 (the clock is 24 Nov 2026).
EXPECTED = {
    (ELM, "missing", "M365-BUS-STD", Decimal("100")),  # 8 × 12.50
    (FOXGLOVE, "quantity", "M365-BUS-PREM", Decimal("44")),  # (10 − 8) × 22.00
    (HAWTHORN, "price", "M365-BUS-STD", Decimal("7.5")),  # 5 × (12.50 − 11.00)
    (IRONWOOD, "duplicate", "BKP-CLOUD-500", Decimal("-30")),  # the second copy, 2 × 15.00
    (JUNIPER, "orphan", "M365-BUS-STD", Decimal("-50")),  # 4 × 12.50 without a subscription
    (KESTREL, "cancelledAgreement", "M365-BUS-PREM", Decimal("132")),  # 6 × 22.00
    (LINDEN, "unmapped", None, Decimal(0)),
}


class Worker:
    def __init__(self, app: procrastinate.App, world: World) -> None:
        self.app = app
        self.world = world

    async def run(self) -> None:
        await self.app.run_worker_async(
            wait=False,
            install_signal_handlers=False,
            additional_context={"services": self.world.services},
        )


@pytest.fixture
async def worker(world: World) -> AsyncIterator[Worker]:
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


async def job_result(client: httpx.AsyncClient, job: dict[str, Any]) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/jobs/{job['id']}")
    assert answer.status_code == 200, answer.text
    done = answer.json()
    assert done["status"] == "succeeded", done
    result: dict[str, Any] = done["result"]
    return result


async def reconcile(
    client: httpx.AsyncClient, worker: Worker, customers: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"customerIds": customers} if customers else {}
    answer = await client.post(RECONCILE, json=body)
    assert answer.status_code == 202, answer.text
    await worker.run()
    await job_result(client, answer.json()["job"])
    report = await client.get(RECONCILE)
    assert report.status_code == 200, report.text
    found: dict[str, Any] = report.json()
    return found


async def fix(
    client: httpx.AsyncClient, worker: Worker, items: list[str], effective: str = "nextPeriod"
) -> dict[str, Any]:
    answer = await client.post(
        f"{RECONCILE}/fix",
        json={"items": items, "priceSource": "marketplace", "effective": effective},
    )
    assert answer.status_code == 202, answer.text
    await worker.run()
    return await job_result(client, answer.json()["job"])


def seen(report: dict[str, Any]) -> set[tuple[str, str, str | None, Decimal]]:
    return {
        (item["customer"]["id"], item["kind"], item["mpn"], Decimal(item["monthlyImpact"]))
        for item in report["items"]
    }


def connectwise(world: World) -> ConnectWiseClient:
    site = ConnectWiseSite(
        site_url=SANDBOX,
        company_id="northwind",
        public_key="demoPublicKey01",
        private_key="demoPrivateKey01",
        client_id=CONNECTWISE["clientId"],
    )
    return ConnectWiseClient(world.vendor_http, site)


async def test_every_drift_kind_is_reported_fixed_and_gone(
    world: World, client: httpx.AsyncClient, worker: Worker
) -> None:
    report = await reconcile(client, worker, DRIFT)
    assert seen(report) == EXPECTED
    assert report["asOf"] == "2026-12-01" and report["createdBy"] == NORTHWIND["username"]
    by_kind = {total["kind"]: total for total in report["totals"]["byKind"]}
    assert by_kind["missing"]["impact"] == [{"currency": "USD", "amount": "100.00", "exact": "100"}]
    assert sum(total["count"] for total in by_kind.values()) == len(EXPECTED)
    assert {t["customer"]["id"] for t in report["totals"]["byCustomer"]} == set(DRIFT)

    only = await client.get(RECONCILE, params={"kind": "duplicate"})
    assert [item["kind"] for item in only.json()["items"]] == ["duplicate"]
    mine = await client.get(RECONCILE, params={"customerId": KESTREL})
    assert [item["customer"]["id"] for item in mine.json()["items"]] == [KESTREL]
    exported = await client.get(f"{RECONCILE}.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {row["itemId"] for row in rows} == {item["id"] for item in report["items"]}
    assert all(row["monthlyImpact"] for row in rows)

    fixable = [item["id"] for item in report["items"] if item["fix"]]
    assert len(fixable) == len(EXPECTED) - 1  # unmapped has no fix
    result = await fix(client, worker, fixable)
    assert (result["fixed"], result["failed"]) == (len(fixable), 0), result
    fixed = await client.get(RECONCILE)
    assert all(item["fixedAt"] for item in fixed.json()["items"] if item["fix"])

    again = await reconcile(client, worker, DRIFT)
    assert seen(again) == {(LINDEN, "unmapped", None, Decimal(0))}

    # A hand edit of a line psasync wrote shows as manualEdit, and its fix puts it back.
    elm_lines = await world.additions(1401)
    (ours,) = [line for line in elm_lines if line.sync_key]
    await connectwise(world).update_addition(
        1401, ours.id, AdditionChanges(unit_cost=ours.unit_cost + 1)
    )
    edited = await reconcile(client, worker, [ELM])
    (item,) = edited["items"]
    assert item["kind"] == "manualEdit" and item["fix"], item
    result = await fix(client, worker, [item["id"]])
    assert result["fixed"] == 1, result
    assert (await reconcile(client, worker, [ELM]))["items"] == []


async def test_a_fix_into_an_invoiced_period_goes_to_the_next_period(
    world: World, client: httpx.AsyncClient, worker: Worker
) -> None:
    marked = await world.vendor_http.put(
        "/_sandbox/connectwise/invoiced", json={"agreementId": 1411, "through": "2026-11-25"}
    )
    assert marked.status_code == 200, marked.text
    report = await reconcile(client, worker, [FOXGLOVE])
    (item,) = report["items"]
    result = await fix(client, worker, [item["id"]], effective="currentPeriod")
    (done,) = result["items"]
    assert done["result"] == "fixed" and done["effectiveDate"] == "2026-12-01", done
    lines = await world.additions(1411)
    assert all(
        line.effective_date is None or str(line.effective_date) >= "2026-03-01" for line in lines
    )
    assert not [line for line in lines if line.sync_key and line.sync_key.endswith(":prorate")]
    assert (await reconcile(client, worker, [FOXGLOVE]))["items"] == []


async def test_a_fix_cut_short_by_dropped_connections_resumes_without_duplicates(
    world: World, client: httpx.AsyncClient, worker: Worker
) -> None:
    report = await reconcile(client, worker, DRIFT)
    fixable = [item["id"] for item in report["items"] if item["fix"]]
    world.sandbox.faults.configure(
        FaultSettings(
            rate_drop=0.7,
            methods=frozenset({"POST", "PATCH"}),
            path_prefix="/v4_6_release/apis/3.0/finance/agreements",
            seed=16,
        )
    )
    first = await fix(client, worker, fixable)
    world.sandbox.faults.configure(FaultSettings())
    assert first["failed"] > 0, first  # cut short: some writes never got their answer
    second = await fix(client, worker, fixable)
    assert second["failed"] == 0, second
    keys: Counter[str] = Counter()
    for agreement in (1401, 1411, 1421, 1431, 1441, 1451, 1452):
        keys.update(line.sync_key for line in await world.additions(agreement) if line.sync_key)
    assert keys and all(count == 1 for count in keys.values()), keys
    assert seen(await reconcile(client, worker, DRIFT)) == {(LINDEN, "unmapped", None, Decimal(0))}


async def test_bad_requests_are_refused_and_nothing_runs_without_a_report(
    world: World, client: httpx.AsyncClient, worker: Worker
) -> None:
    answer = await client.get(RECONCILE)
    assert answer.status_code == 404, answer.text
    answer = await client.post(f"{RECONCILE}/fix", json={"items": ["0123456789ab"]})
    assert answer.status_code == 404, answer.text
    bodies: list[dict[str, Any]] = [
        {"items": []},
        {"items": ["nope"]},
        {"items": ["0123456789ab"], "effective": "x"},
    ]
    for body in bodies:
        answer = await client.post(f"{RECONCILE}/fix", json=body)
        assert answer.status_code in (400, 422), answer.text
    answer = await client.post(RECONCILE, json={"customerIds": []})
    assert answer.status_code in (400, 422), answer.text
    await reconcile(client, worker, [ELM])
    answer = await client.get(RECONCILE, params={"kind": "sideways"})
    assert answer.status_code == 422, answer.text
    answer = await client.post(f"{RECONCILE}/fix", json={"items": ["0123456789ab"]})
    assert answer.status_code == 404, answer.text
    async with world.client() as anonymous:
        assert (await anonymous.get(RECONCILE)).status_code == 401
