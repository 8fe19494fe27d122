"""Issue 13's billing rules through the REST API against the sandboxes: the period start is not
rounded, a cancellation deletes an addition that has not started, invoiced periods are refused
with nothing written, a setup fee bills its setup-fee item, review dates are bounded, and every
planned line says where its price came from."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest

from psasync.sandbox.fixture import DEMO_FIXTURE, SandboxFixture, load_fixture
from psasync.sandbox.server import build_sandbox
from psasync.services import auth, mappings
from psasync.web import schemas
from tests.e2e.conftest import NORTHWIND, SANDBOX, World, task_id
from tests.e2e.test_api_flow import GREEN_LANE_MANAGED, error_of

pytestmark = pytest.mark.anyio

LAKESIDE = 1311  # invoiced through 24 Nov by the demo fixture (nextInvoiceDate 25 Nov)
HARBORVIEW = 1321  # annual; June's change left 15 devices starting 1 Feb 2027 (#9122)
NOT_STARTED = 9122
CEDAR_RIDGE = 1221
BACKUP = "BKP-CLOUD-500"  # monthly item #303 (16.00 / 9.00)
ONBOARDING = 307  # Cloud Backup onboarding, 55.00 / 20.00


async def preview(
    client: httpx.AsyncClient, task: int, agreement: int, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/connectwise/tasks/{task}/preview", json={"agreementId": agreement, **body}
    )


async def sync(client: httpx.AsyncClient, task: int, agreement: int, **body: Any) -> httpx.Response:
    return await client.post(
        f"/api/v1/connectwise/tasks/{task}/sync", json={"agreementId": agreement, **body}
    )


async def status_of(client: httpx.AsyncClient, task: int) -> str:
    return str((await client.get(f"/api/v1/connectwise/tasks/{task}")).json()["status"])


async def history_total(client: httpx.AsyncClient) -> int:
    return int((await client.get("/api/v1/connectwise/history")).json()["total"])


@asynccontextmanager
async def on_fixture(world: World, fixture: SandboxFixture) -> AsyncIterator[World]:
    """The same app and database, the vendors answering from ``fixture`` instead of the demo."""
    sandbox = build_sandbox(fixture)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=SANDBOX
    ) as http:
        world.sandbox, world.vendor_http, world.services.http = sandbox, http, http
        yield world


def green_lane_change_on_the_period_start(price: str) -> SandboxFixture:
    """The demo with Green Lane's +2 seats (CH0000417) provisioned on 1 Nov at ``price``."""
    fixture = load_fixture(DEMO_FIXTURE)
    on_the_first = dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC)
    orders = []
    for order in fixture.marketplace.orders:
        if order.order_number == "CH0000417":
            (line,) = order.details
            unit_price = line.unit_price.model_copy(update={"amount": Decimal(price)})
            order = order.model_copy(
                update={
                    "creation_date": on_the_first,
                    "provisioning_date": on_the_first,
                    "details": [line.model_copy(update={"unit_price": unit_price})],
                }
            )
        orders.append(order)
    marketplace = fixture.marketplace.model_copy(update={"orders": orders})
    return fixture.model_copy(update={"marketplace": marketplace})


# Rounding at the period start --------------------------------------------------------------


async def test_a_change_on_the_period_start_keeps_the_marketplace_price_unrounded(
    world: World,
) -> None:
    async with (
        on_fixture(world, green_lane_change_on_the_period_start("12.505")),
        world.ready() as client,
    ):
        task = await task_id(client, "CH0000417")
        answer = await preview(client, task, GREEN_LANE_MANAGED)
        assert answer.status_code == 200, answer.text
        plan = answer.json()
        prorate = next(a for a in plan["additions"] if a["kind"] == "prorate")
        # The whole period, not a proration: 2 × 12.505 = 25.01, what two of the twelve seats
        # bill next period. Rounded to the cent it would be 2 × 12.51 = 25.02.
        assert (prorate["effectiveDate"], prorate["cancelledDate"]) == ("2026-11-01", "2026-11-30")
        assert (prorate["quantity"], prorate["unitPrice"], prorate["extPrice"]) == (
            "2",
            "12.505",
            "25.01",
        )
        assert plan["proratedAmount"] == "25.01"

        answer = await sync(client, task, GREEN_LANE_MANAGED)
        assert answer.status_code == 200, answer.text
        written = next(
            a
            for a in await world.additions(GREEN_LANE_MANAGED)
            if a.sync_key == f"task:{task}:line1:prorate"
        )
        assert (written.quantity, written.unit_price) == (Decimal(2), Decimal("12.505"))


# A cancellation after a change in the same period ----------------------------------------------


async def test_a_cancellation_deletes_the_addition_that_has_not_started(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CA0000031")
        before = await world.additions(HARBORVIEW)
        assert NOT_STARTED in {a.id for a in before}
        answer = await preview(client, task, HARBORVIEW)
        assert answer.status_code == 200, answer.text
        plan = answer.json()
        assert [(a["action"], a["additionId"]) for a in plan["additions"]] == [
            ("delete", NOT_STARTED)
        ]
        assert plan["recurringAmount"] == {"before": "540.00", "after": "0.00"}

        answer = await sync(client, task, HARBORVIEW)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert [(a["action"], a["outcome"]) for a in result["run"]["actions"]] == [
            ("delete", "applied")
        ]
        assert result["recurringAmount"] == {"before": "540.00", "after": "0.00"}
        # Gone from ConnectWise; the rest is as it was (the 12 already end on 31 Jan 2027).
        after = await world.additions(HARBORVIEW)
        assert after == [a for a in before if a.id != NOT_STARTED]
        assert await status_of(client, task) == "synced"


# Invoiced periods -----------------------------------------------------------------------------


async def test_a_plan_touching_an_invoiced_period_is_blocked_and_nothing_is_written(
    world: World,
) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000416")
        before = await world.additions(LAKESIDE)
        agreements = (await client.get(f"/api/v1/connectwise/tasks/{task}/agreements")).json()
        assert [(a["id"], a["eligible"]) for a in agreements] == [(LAKESIDE, True)]
        answer = await preview(client, task, LAKESIDE)
        assert answer.status_code == 200, answer.text
        plan = answer.json()
        assert plan["blocked"] is True
        (invoiced,) = [w for w in plan["warnings"] if w["code"] == "PeriodInvoiced"]
        assert invoiced["blocking"] is True and "2026-11-24" in invoiced["message"]

        answer = await sync(client, task, LAKESIDE)
        assert answer.status_code == 422, answer.text
        error = error_of(answer)
        assert error["code"] == "PlanBlocked"
        assert "PeriodInvoiced" in {w["code"] for w in error["details"]["warnings"]}
        assert await world.additions(LAKESIDE) == before
        assert await status_of(client, task) == "new"
        assert await history_total(client) == 0


async def test_an_agreement_invoiced_after_the_preview_refuses_the_sync(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        before = await world.additions(GREEN_LANE_MANAGED)
        answer = await preview(client, task, GREEN_LANE_MANAGED)
        assert answer.status_code == 200, answer.text
        assert answer.json()["blocked"] is False

        # ConnectWise's invoice run bills November while the reseller reviews the plan.
        marked = await world.vendor_http.put(
            "/_sandbox/connectwise/invoiced",
            json={"agreementId": GREEN_LANE_MANAGED, "through": "2026-11-30"},
        )
        assert marked.status_code == 200, marked.text
        answer = await sync(client, task, GREEN_LANE_MANAGED)
        assert answer.status_code == 422, answer.text
        error = error_of(answer)
        assert error["code"] == "PlanBlocked"
        blocking = [w for w in error["details"]["warnings"] if w["code"] == "PeriodInvoiced"]
        assert [w["message"] for w in blocking if f"task:{task}:line1:prorate" in w["message"]]
        assert await world.additions(GREEN_LANE_MANAGED) == before
        assert await status_of(client, task) == "new"

        # Invoiced into December too, no action of the task could be written: ineligible.
        marked = await world.vendor_http.put(
            "/_sandbox/connectwise/invoiced",
            json={"agreementId": GREEN_LANE_MANAGED, "through": "2026-12-31"},
        )
        assert marked.status_code == 200, marked.text
        answer = await sync(client, task, GREEN_LANE_MANAGED)
        assert answer.status_code == 422, answer.text
        error = error_of(answer)
        assert error["code"] == "IneligibleAgreement"
        assert "PeriodInvoiced" in {r["code"] for r in error["details"]["reasons"]}
        assert await world.additions(GREEN_LANE_MANAGED) == before


# Setup fees ------------------------------------------------------------------------------------


async def test_a_setup_fee_bills_its_setup_fee_items_price(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "SO0000392")
        # The mappings API does not take setupCatalogItemId yet: mapped through the service.
        user = await auth.login(world.services, marketplace="us", **NORTHWIND)
        await mappings.map_products(
            world.services, user.actor, [(BACKUP, 303)], setup_items={BACKUP: ONBOARDING}
        )
        answer = await preview(client, task, CEDAR_RIDGE, priceSource="connectwise")
        assert answer.status_code == 200, answer.text
        (fee,) = [a for a in answer.json()["additions"] if a["kind"] == "one_time"]
        assert (fee["product"]["id"], fee["unitPrice"], fee["unitCost"]) == (
            ONBOARDING,
            "55.00",
            "20.00",
        )
        assert "SetupPriceFromMarketplace" not in {w["code"] for w in answer.json()["warnings"]}

        before = {a.id for a in await world.additions(CEDAR_RIDGE)}
        answer = await sync(client, task, CEDAR_RIDGE, priceSource="connectwise")
        assert answer.status_code == 200, answer.text
        written = [a for a in await world.additions(CEDAR_RIDGE) if a.id not in before]
        fees = [a for a in written if a.sync_key == f"task:{task}:line2:one_time"]
        assert [(a.product.id, a.quantity, a.unit_price, a.unit_cost) for a in fees] == [
            (ONBOARDING, Decimal(1), Decimal("55.00"), Decimal("20.00"))
        ]
        # The recurring seats stay on the monthly item, at its price.
        (recurring,) = [a for a in written if a.sync_key == f"task:{task}:line1:recurring"]
        assert (recurring.product.id, recurring.unit_price) == (303, Decimal("16.00"))


# Review date bounds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "field", "date"),
    [
        (1, "effectiveDate", "2999-12-31"),  # a recurring create that would never bill
        (1, "effectiveDate", "2027-01-01"),  # ... starting after the next period's start
        (1, "effectiveDate", "2026-10-31"),  # ... or before the period
        (2, "cancelledDate", "2026-12-01"),  # a prorate line ending after the period
        (0, "cancelledDate", "2999-12-31"),  # a cancel moved far past the period
    ],
)
async def test_a_reviewed_date_outside_its_bounds_is_422_and_nothing_is_written(
    world: World, row: int, field: str, date: str
) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        plan = (await preview(client, task, GREEN_LANE_MANAGED)).json()
        edited = [dict(a) for a in plan["additions"]]
        kinds = [(a["action"], a["kind"]) for a in edited]
        assert kinds == [("cancel", "recurring"), ("create", "recurring"), ("create", "prorate")]
        edited[row][field] = date
        before = await world.additions(GREEN_LANE_MANAGED)
        answer = await sync(client, task, GREEN_LANE_MANAGED, additions=edited)
        assert answer.status_code == 422, answer.text
        error = error_of(answer)
        assert error["code"] == "InvalidAdditions"
        problems = {(p["key"], p["field"], p["code"]) for p in error["details"]["fieldErrors"]}
        assert (edited[row]["key"], field, "OutOfRange") in problems
        assert await world.additions(GREEN_LANE_MANAGED) == before
        assert await status_of(client, task) == "new"
        assert await history_total(client) == 0
        answer = await preview(client, task, GREEN_LANE_MANAGED, additions=edited)
        assert answer.status_code == 422, "the preview refuses it too"


async def test_a_reviewed_create_in_the_year_9999_is_422_and_nothing_is_written(
    world: World,
) -> None:
    # Refused at the API's edge (dates lie in 1900–2999) before the billing rules see it.
    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        plan = (await preview(client, task, GREEN_LANE_MANAGED)).json()
        edited = [dict(a) for a in plan["additions"]]
        edited[1]["effectiveDate"] = "9999-12-31"
        before = await world.additions(GREEN_LANE_MANAGED)
        answer = await sync(client, task, GREEN_LANE_MANAGED, additions=edited)
        assert answer.status_code == 422, answer.text
        problems = error_of(answer)["details"]["fieldErrors"]
        assert [p["field"] for p in problems] == ["additions.1.effectiveDate"]
        assert await world.additions(GREEN_LANE_MANAGED) == before
        assert await status_of(client, task) == "new"
        assert await history_total(client) == 0


# Where each price came from ----------------------------------------------------------------------


@pytest.mark.skipif(
    "price_origin" not in schemas.AdditionOut.model_fields,
    reason="the preview answer does not carry priceOrigin yet",
)
async def test_every_previewed_line_says_where_its_price_came_from(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        plan = (await preview(client, task, GREEN_LANE_MANAGED)).json()
        assert [a["priceOrigin"] for a in plan["additions"]] == [
            "existingAddition",
            "marketplace",
            "marketplace",
        ]
        plan = (await preview(client, task, GREEN_LANE_MANAGED, priceSource="connectwise")).json()
        assert [a["priceOrigin"] for a in plan["additions"]] == [
            "existingAddition",
            "existingAddition",
        ]
        edited = [dict(a) for a in plan["additions"]]
        edited[1]["unitPrice"] = "13.00"
        plan = (await preview(client, task, GREEN_LANE_MANAGED, additions=edited)).json()
        assert [a["priceOrigin"] for a in plan["additions"]][1] == "edited"
        task = await task_id(client, "CA0000031")
        plan = (await preview(client, task, HARBORVIEW)).json()
        assert [a["priceOrigin"] for a in plan["additions"]] == ["existingAddition"]
