"""Reconciliation on an Autotask tenant (DESIGN §9, §11), through the REST API and a real job
worker, on the demo's Autotask sandbox (Fabrikam Managed Services, D = 2026-12-01): the report
finds a unit difference, a missing service and an orphan, and prices them; the fixes are
adjustments written through the journal, and neither a re-run of the fixes nor a second fix of
the same drift writes a unit twice — also when Autotask applies an adjustment after the client
gave up on it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from psasync.adapters.http import RetryPolicy
from psasync.config import Settings
from psasync.sandbox.autotask.entities import CONTRACT_SERVICE_UNITS
from psasync.sandbox.faults import FaultSettings
from psasync.sandbox.fixture import DEMO_FIXTURE, load_fixture
from psasync.sandbox.server import build_sandbox
from psasync.services import Services
from psasync.store import Database, SecretBox
from psasync.web.app import create_app
from tests.e2e import test_reconciliation as connectwise_reconciliation
from tests.e2e.conftest import NOW, SANDBOX, SECRET, World
from tests.e2e.test_autotask_api import AUTOTASK, FABRIKAM, adjustments
from tests.e2e.test_reconciliation import Worker, job_result

pytestmark = pytest.mark.anyio

# The job worker of the ConnectWise reconciliation tests, as a fixture here too.
worker = connectwise_reconciliation.worker


@dataclass
class Patience:
    """How long psasync's vendor client waits for an answer."""

    seconds: float = 60.0


class GivingUp(httpx.AsyncBaseTransport):
    """A client that stops waiting for an answer after ``patience``, as over a socket (the
    in-process transport itself never times out)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, patience: Patience) -> None:
        self.inner = inner
        self.patience = patience

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await asyncio.wait_for(
                self.inner.handle_async_request(request), timeout=self.patience.seconds
            )
        except TimeoutError:
            raise httpx.ReadTimeout("gave up waiting", request=request) from None


async def _no_sleep(_seconds: float) -> None:
    return None


RECONCILE = "/api/v1/autotask/reconciliation"
ALDER, BIRCH, DOGWOOD, ELM = "1000070001", "1000070002", "1000070004", "1000070005"
DRIFT = [ALDER, BIRCH, DOGWOOD, ELM]
# What Fabrikam's Autotask shows on D = 2026-12-01 before any sync (the clock is 24 Nov 2026).
EXPECTED = {
    (ALDER, "quantity", "M365-BUS-STD", Decimal("25")),  # (12 − 10) × 12.50 on contract 2001
    (BIRCH, "missing", "M365-BUS-PREM", Decimal("110")),  # 5 × 22.00, no service on 2011
    (DOGWOOD, "orphan", "M365-BUS-STD", Decimal("-100")),  # 8 × 12.50, subscription terminated
    (ELM, "quantity", "M365-BUS-STD", Decimal("12.5")),  # (8 − 7) × 12.50 on contract 2041
}
# The units each contract's service should hold from D once the drift is fixed.
# Where psasync POSTs its adjustments (and charges) on the demo's contracts (all 20xx).
CONTRACT_WRITES = "/atservicesrest/v1.0/Contracts/20"
FIXED_UNITS = {(2001, 501): 12, (2011, 502): 5, (2031, 501): 0, (2041, 501): 8}


@pytest.fixture
def patience() -> Patience:
    return Patience()


@pytest.fixture
async def world(database: Database, patience: Patience) -> AsyncIterator[World]:
    """The e2e world with Autotask's zone discovery at the sandbox (as test_autotask_api's),
    psasync's vendor client giving up after ``patience``."""
    sandbox = build_sandbox(load_fixture(DEMO_FIXTURE))
    inner = httpx.ASGITransport(app=sandbox.app)
    vendor_http = httpx.AsyncClient(transport=GivingUp(inner, patience), base_url=SANDBOX)
    settings = Settings.model_validate(
        {
            "database_url": database.url,
            "secret_key": SECRET,
            "marketplaces": [
                {
                    "code": "us",
                    "name": "Cloud Marketplace US",
                    "url": f"{SANDBOX}/marketplace/us",
                    "subscriptionKey": "demo-us-gateway-key",
                }
            ],
            "check_lookback_days": 31,
            "autotask_discovery_url": SANDBOX,
        }
    )
    services = Services(
        settings=settings,
        db=database,
        http=vendor_http,
        secret_box=SecretBox(SECRET),
        now=lambda: NOW,
        retry=RetryPolicy(sleep=_no_sleep),
    )
    app = create_app(settings, services=services)
    yield World(sandbox=sandbox, services=services, app=app, vendor_http=vendor_http)
    await vendor_http.aclose()


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """Fabrikam on Autotask, with its integration user set (reconciliation runs as a job)."""
    async with world.login(FABRIKAM) as ready:
        answer = await ready.put("/api/v1/integrations/autotask", json=AUTOTASK)
        assert answer.status_code == 200, answer.text
        answer = await ready.put("/api/v1/autotask/automation", json={"marketplaceUser": FABRIKAM})
        assert answer.status_code == 200, answer.text
        answer = await ready.post("/api/v1/autotask/check-changes")
        assert answer.status_code == 200, answer.text
        # Dogwood's subscription is terminated, so no name match maps it: its Autotask
        # company is mapped by hand, as the mappings page would.
        answer = await ready.put(
            "/api/v1/autotask/mappings/customers",
            json=[{"customerId": DOGWOOD, "companyId": 39100004}],
        )
        assert answer.status_code == 200, answer.text
        yield ready


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


async def fix(client: httpx.AsyncClient, worker: Worker, items: list[str]) -> dict[str, Any]:
    answer = await client.post(
        f"{RECONCILE}/fix",
        json={"items": items, "priceSource": "marketplace", "effective": "nextPeriod"},
    )
    assert answer.status_code == 202, answer.text
    await worker.run()
    return await job_result(client, answer.json()["job"])


def seen(report: dict[str, Any]) -> set[tuple[str, str, str | None, Decimal]]:
    return {
        (item["customer"]["id"], item["kind"], item["mpn"], Decimal(item["monthlyImpact"]))
        for item in report["items"]
    }


async def units_on(world: World, contract_id: int, service_id: int, day: str) -> Decimal:
    """The units Autotask bills for the service on ``day``, read around psasync."""
    assert world.sandbox.autotask is not None
    state = world.sandbox.autotask.state
    rows = [
        row
        for row in state.rows(CONTRACT_SERVICE_UNITS)
        if row["contractID"] == contract_id
        and row["serviceID"] == service_id
        and str(row["startDate"])[:10] <= day <= str(row["endDate"])[:10]
    ]
    return sum((Decimal(str(row["units"])) for row in rows), Decimal(0))


async def test_drift_is_found_priced_and_fixed_by_adjustments_once(
    world: World, client: httpx.AsyncClient, worker: Worker
) -> None:
    report = await reconcile(client, worker, DRIFT)
    assert seen(report) == EXPECTED
    assert report["asOf"] == "2026-12-01"
    by_id = {item["customer"]["id"]: item for item in report["items"]}
    assert by_id[ALDER]["psa"]["agreementId"] == 2001
    assert by_id[ALDER]["psa"]["quantity"] == "10"
    assert by_id[BIRCH]["fix"]["agreementId"] == 2011

    fixable = [item["id"] for item in report["items"] if item["fix"]]
    assert len(fixable) == len(EXPECTED)
    result = await fix(client, worker, fixable)
    assert (result["fixed"], result["failed"]) == (len(EXPECTED), 0), result
    for (contract_id, service_id), units in FIXED_UNITS.items():
        assert await units_on(world, contract_id, service_id, "2026-12-01") == units
    # November, already billed in advance, is left as it was.
    assert await units_on(world, 2001, 501, "2026-11-30") == 10
    made = await adjustments(world)
    assert {a["effectiveDate"][:10] for a in made} == {"2026-12-01"}

    # The fix again, and a report re-run: nothing more is written, nothing drifts.
    again = await fix(client, worker, fixable)
    assert (again["alreadyFixed"], again["failed"]) == (len(EXPECTED), 0), again
    assert seen(await reconcile(client, worker, DRIFT)) == set()
    assert await adjustments(world) == made


async def test_a_fix_whose_connections_drop_after_autotask_applied_writes_no_unit_twice(
    world: World, client: httpx.AsyncClient, worker: Worker
) -> None:
    report = await reconcile(client, worker, DRIFT)
    fixable = [item["id"] for item in report["items"] if item["fix"]]
    world.sandbox.faults.configure(
        FaultSettings(rate_drop=1.0, methods=frozenset({"POST"}), path_prefix=CONTRACT_WRITES)
    )
    first = await fix(client, worker, fixable)
    world.sandbox.faults.configure(FaultSettings())
    second = await fix(client, worker, fixable)
    assert first["failed"] == 0 or second["failed"] == 0, (first, second)
    for (contract_id, service_id), units in FIXED_UNITS.items():
        assert await units_on(world, contract_id, service_id, "2026-12-01") == units
    assert seen(await reconcile(client, worker, DRIFT)) == set()


async def test_an_adjustment_applied_after_the_client_gave_up_is_not_written_again(
    world: World, client: httpx.AsyncClient, worker: Worker, patience: Patience
) -> None:
    """The missing service's create is held by Autotask past the client's patience and lands
    during the quiet period: the fix finds it there by the units and never sends it again."""
    report = await reconcile(client, worker, [BIRCH])
    (item,) = report["items"]
    patience.seconds = 0.2
    world.services.retry = RetryPolicy(sleep=asyncio.sleep)
    world.services.unknown_outcome_quiet = dt.timedelta(seconds=1)
    world.sandbox.faults.configure(
        FaultSettings(
            late_apply_count=1,
            late_apply_seconds=0.5,
            methods=frozenset({"POST"}),
            path_prefix=f"{CONTRACT_WRITES}11/ServiceAdjustments",
        )
    )
    result = await fix(client, worker, [item["id"]])
    assert (result["fixed"], result["failed"]) == (1, 0), result
    assert await units_on(world, 2011, 502, "2026-12-01") == 5
    made = [a for a in await adjustments(world) if a["contractID"] == 2011]
    assert [(a["unitChange"], a["effectiveDate"][:10]) for a in made] == [(5, "2026-12-01")]
