"""The Autotask flow through the API, in-process on the demo fixture's Autotask sandbox
(DESIGN §11): settings checked before saving (zone found by discovery at the sandbox), the
tiles, every order type previewed and synced — Autotask's own proration in the preview equals
what the sandbox bills — a posted period refused with nothing written, and the PSA guard on
the /connectwise and /autotask URLs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest

from psasync.adapters.http import RetryPolicy
from psasync.config import Settings
from psasync.sandbox.fixture import DEMO_FIXTURE, load_fixture
from psasync.sandbox.server import build_sandbox
from psasync.services import Services
from psasync.store import Database, SecretBox
from psasync.web.app import create_app
from tests.e2e.conftest import CONNECTWISE, NOW, SANDBOX, SECRET, World

pytestmark = pytest.mark.anyio

FABRIKAM = {"username": "demo@fabrikam-msp.example", "password": "fabrikam-demo"}
AUTOTASK = {
    "username": "psasync-api@fabrikam-msp.example",
    "secret": "demo-Autotask-Secret-2",
    "integrationCode": "DEMO-PSASYNC-FABRIKAM",
}
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
async def world(database: Database) -> AsyncIterator[World]:
    """The e2e world, Autotask's zone discovery pointed at the sandbox."""
    sandbox = build_sandbox(load_fixture(DEMO_FIXTURE))
    vendor_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=SANDBOX
    )
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


@asynccontextmanager
async def on_autotask(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """Fabrikam logged in, Autotask configured by discovery, Check Changes done."""
    async with world.login(FABRIKAM) as client:
        answer = await client.put("/api/v1/integrations/autotask", json=AUTOTASK)
        assert answer.status_code == 200, answer.text
        answer = await client.post("/api/v1/autotask/check-changes")
        assert answer.status_code == 200, answer.text
        yield client


async def task_of(client: httpx.AsyncClient, order_number: str) -> int:
    answer = await client.get("/api/v1/autotask/tasks", params={"q": order_number})
    assert answer.status_code == 200, answer.text
    (item,) = answer.json()["items"]
    return int(item["id"])


async def billed(world: World, contract_id: int, **period: str) -> Decimal:
    answer = await world.vendor_http.get(
        "/_sandbox/autotask/billing", params={"contractID": contract_id, **period}
    )
    assert answer.status_code == 200, answer.text
    return Decimal(answer.json()["total"])


async def adjustments(world: World) -> list[dict[str, Any]]:
    answer = await world.vendor_http.get("/_sandbox/autotask/adjustments")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


async def preview_and_sync(
    client: httpx.AsyncClient, task_id: int, contract_id: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    body = {"agreementId": contract_id, "priceSource": "marketplace"}
    preview = await client.post(f"/api/v1/autotask/tasks/{task_id}/preview", json=body)
    assert preview.status_code == 200, preview.text
    synced = await client.post(f"/api/v1/autotask/tasks/{task_id}/sync", json=body)
    assert synced.status_code == 200, synced.text
    return preview.json(), synced.json()


async def test_settings_are_checked_before_saving_and_the_secret_is_never_returned(
    world: World,
) -> None:
    async with world.login(FABRIKAM) as client:
        wrong = await client.put(
            "/api/v1/integrations/autotask", json={**AUTOTASK, "secret": "not-the-secret"}
        )
        assert wrong.status_code == 422, wrong.text
        assert wrong.json()["error"]["code"] == "AutotaskAuthFailed"
        tiles = (await client.get("/api/v1/integrations")).json()
        assert [(t["id"], t["state"], t["inUse"]) for t in tiles] == [
            ("connectwise", "not_configured", False),
            ("autotask", "not_configured", False),
        ]
        unknown = await client.put(
            "/api/v1/integrations/autotask", json={**AUTOTASK, "username": "nobody@x.example"}
        )
        assert unknown.status_code == 422, unknown.text
        saved = await client.put("/api/v1/integrations/autotask", json=AUTOTASK)
        assert saved.status_code == 200, saved.text
        tile = saved.json()
        assert tile["state"] == "connected" and tile["inUse"] is True
        assert tile["zoneUrl"] == f"{SANDBOX}/atservicesrest/"
        assert AUTOTASK["secret"] not in saved.text
        assert AUTOTASK["integrationCode"] not in saved.text
        tiles = (await client.get("/api/v1/integrations")).json()
        assert AUTOTASK["secret"] not in str(tiles)
        assert [(t["id"], t["state"], t["inUse"]) for t in tiles] == [
            ("connectwise", "not_configured", False),
            ("autotask", "connected", True),
        ]


async def test_one_psa_at_a_time(world: World) -> None:
    async with world.login(FABRIKAM) as client:
        assert (await client.put("/api/v1/integrations/autotask", json=AUTOTASK)).is_success
        refused = await client.put("/api/v1/integrations/connectwise", json=CONNECTWISE)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "PsaInUse"
        # The ConnectWise URLs are not this tenant's: 404; its own answer.
        assert (await client.get("/api/v1/connectwise/tasks")).status_code == 404
        assert (await client.get("/api/v1/autotask/tasks")).status_code == 200
        switched = await client.put(
            "/api/v1/integrations/connectwise", json={**CONNECTWISE, "switch": True}
        )
        assert switched.status_code == 200, switched.text
        tiles = (await client.get("/api/v1/integrations")).json()
        assert [(t["id"], t["inUse"]) for t in tiles] == [
            ("connectwise", True),
            ("autotask", False),
        ]
        assert (await client.get("/api/v1/autotask/tasks")).status_code == 404
        assert (await client.get("/api/v1/connectwise/tasks")).status_code == 200


async def test_the_connectwise_urls_are_unchanged(world: World) -> None:
    async with world.ready() as client:
        listed = await client.get("/api/v1/connectwise/tasks")
        assert listed.status_code == 200 and listed.json()["total"] > 0
        assert (await client.get("/api/v1/autotask/tasks")).status_code == 404
        assert (await client.get("/api/v1/connectwise/automation")).status_code == 200
        assert (await client.get("/api/v1/connectwise/history")).status_code == 200
        page = await client.get("/integrations/autotask", follow_redirects=False)
        assert page.status_code == 307
        assert page.headers["location"] == "/integrations/connectwise"


async def test_change_order_is_one_adjustment_and_autotask_bills_the_preview(
    world: World,
) -> None:
    async with on_autotask(world) as client:
        task_id = await task_of(client, "CH0000701")
        agreements = (await client.get(f"/api/v1/autotask/tasks/{task_id}/agreements")).json()
        eligible = {a["id"]: a["eligible"] for a in agreements}
        assert eligible == {2001: True, 2002: False}
        before = await billed(world, 2001, **NOVEMBER)
        preview, synced = await preview_and_sync(client, task_id, 2001)
        (action,) = [a for a in preview["additions"] if not a["skip"]]
        assert action["quantity"] == "12"
        assert Decimal(preview["proratedAmount"]) == Decimal("16.66")  # 2 x 8.33 (12.50 x 20/30)
        after = await billed(world, 2001, **NOVEMBER)
        assert after - before == Decimal(preview["proratedAmount"])
        made = [a for a in await adjustments(world) if a["contractID"] == 2001]
        assert [(a["unitChange"], a["effectiveDate"][:10]) for a in made] == [(2, "2026-11-11")]
        again = await client.post(
            f"/api/v1/autotask/tasks/{task_id}/sync",
            json={"agreementId": 2001, "priceSource": "marketplace"},
        )
        assert again.status_code == 409
        assert len([a for a in await adjustments(world) if a["contractID"] == 2001]) == 1
        assert synced


async def test_sales_order_adds_the_service_with_its_units(world: World) -> None:
    async with on_autotask(world) as client:
        task_id = await task_of(client, "SO0000701")
        before = await billed(world, 2011, **NOVEMBER)
        preview, _ = await preview_and_sync(client, task_id, 2011)
        after = await billed(world, 2011, **NOVEMBER)
        assert Decimal(preview["proratedAmount"]) == Decimal("36.65")  # 5 x 7.33 (22.00 x 10/30)
        assert after - before == Decimal(preview["proratedAmount"])
        made = [a for a in await adjustments(world) if a["contractID"] == 2011]
        assert [(a["unitChange"], a["effectiveDate"][:10]) for a in made] == [(5, "2026-11-21")]


async def test_billing_order_writes_charges(world: World) -> None:
    async with on_autotask(world) as client:
        task_id = await task_of(client, "BO0000701")
        preview, synced = await preview_and_sync(client, task_id, 2021)
        assert Decimal(preview["oneTimeAmount"]) == Decimal("22.00")  # 800 x 0.02 + 120 x 0.05
        assert {a["action"] for a in preview["additions"]} == {"create"}
        assert [a for a in await adjustments(world) if a["contractID"] == 2021] == []
        assert synced


async def test_cancellation_adjusts_down_to_zero(world: World) -> None:
    async with on_autotask(world) as client:
        task_id = await task_of(client, "CA0000701")
        before = await billed(world, 2031, **NOVEMBER)
        preview, _ = await preview_and_sync(client, task_id, 2031)
        after = await billed(world, 2031, **NOVEMBER)
        assert after - before == Decimal(preview["proratedAmount"])
        made = [a for a in await adjustments(world) if a["contractID"] == 2031]
        assert [(a["unitChange"], a["effectiveDate"][:10]) for a in made] == [(-8, "2026-11-20")]


async def test_a_posted_period_is_refused_with_nothing_written(world: World) -> None:
    async with on_autotask(world) as client:
        task_id = await task_of(client, "CH0000702")
        body = {"agreementId": 2041, "priceSource": "marketplace"}
        preview = await client.post(f"/api/v1/autotask/tasks/{task_id}/preview", json=body)
        assert preview.status_code == 200, preview.text
        refused = await client.post(f"/api/v1/autotask/tasks/{task_id}/sync", json=body)
        assert refused.status_code in (409, 422), refused.text
        assert [a for a in await adjustments(world) if a["contractID"] == 2041] == []


async def test_the_pages_show_both_tiles_and_the_autotask_settings_form(world: World) -> None:
    async with world.login(FABRIKAM) as client:
        page = await client.get("/integrations")
        assert page.status_code == 200
        assert "ConnectWise PSA" in page.text and "Autotask PSA" in page.text
        assert 'href="/integrations/autotask/settings"' in page.text
        form = await client.get("/integrations/autotask/settings")
        assert form.status_code == 200 and "Integration code" in form.text
        token = client.headers["X-CSRF-Token"]
        wrong = await client.post(
            "/integrations/autotask/settings",
            data={
                "csrf_token": token,
                "username": AUTOTASK["username"],
                "secret": "wrong",
                "integration_code": AUTOTASK["integrationCode"],
            },
        )
        assert wrong.status_code == 422 and "Autotask refused the credentials" in wrong.text
        saved = await client.post(
            "/integrations/autotask/settings",
            data={
                "csrf_token": token,
                "username": AUTOTASK["username"],
                "secret": AUTOTASK["secret"],
                "integration_code": AUTOTASK["integrationCode"],
            },
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == "/integrations/autotask?notice=connected"
        dashboard = await client.get(saved.headers["location"])
        assert dashboard.status_code == 200 and "Autotask is connected" in dashboard.text
        page = await client.get("/integrations")
        assert "This account uses Autotask PSA." in page.text
        # A ConnectWise page's link leads to the same page of Autotask.
        moved = await client.get("/integrations/connectwise/history", follow_redirects=False)
        assert moved.status_code == 307
        assert moved.headers["location"] == "/integrations/autotask/history"
        assert (await client.get("/integrations/autotask/history")).status_code == 200
        assert (await client.get("/integrations/autotask/mappings")).status_code == 200
