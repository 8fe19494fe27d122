"""The seed's whole flow through the REST API, over the demo sandboxes (DESIGN.md §3–4)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import CONNECTWISE, World, task_id

pytestmark = pytest.mark.anyio

GREEN_LANE_MANAGED = 1201


def error_of(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return dict(body["error"])


async def preview(
    client: httpx.AsyncClient, order: str, agreement: int, **body: Any
) -> dict[str, Any]:
    answer = await client.post(
        f"/api/v1/connectwise/tasks/{await task_id(client, order)}/preview",
        json={"agreementId": agreement, **body},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def amounts(plan: dict[str, Any]) -> tuple[str, str, str]:
    return (
        plan["proratedAmount"],
        plan["recurringAmount"]["before"],
        plan["recurringAmount"]["after"],
    )


# Login, settings, Check Changes --------------------------------------------------------------


async def test_a_wrong_password_is_401_and_no_cookie(world: World) -> None:
    async with world.client() as client:
        answer = await client.post(
            "/api/v1/auth/login",
            json={"marketplace": "us", "username": "demo@northwind-it.example", "password": "x"},
        )
        assert answer.status_code == 401
        assert error_of(answer)["code"] == "InvalidCredentials"
        assert "psasync_session" not in answer.cookies
        assert (await client.get("/api/v1/connectwise/tasks")).status_code == 401


async def test_an_unknown_marketplace_is_400(world: World) -> None:
    async with world.client() as client:
        answer = await client.post(
            "/api/v1/auth/login", json={"marketplace": "eu", "username": "a", "password": "b"}
        )
        assert answer.status_code == 400
        assert "us" in error_of(answer)["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/integrations"),
        ("PUT", "/api/v1/integrations/connectwise"),
        ("POST", "/api/v1/connectwise/check-changes"),
        ("GET", "/api/v1/connectwise/tasks"),
        ("GET", "/api/v1/connectwise/tasks/1"),
        ("POST", "/api/v1/connectwise/tasks/1/ignore"),
        ("POST", "/api/v1/connectwise/tasks/1/unignore"),
        ("GET", "/api/v1/connectwise/tasks/1/agreements"),
        ("POST", "/api/v1/connectwise/tasks/1/preview"),
        ("POST", "/api/v1/connectwise/tasks/1/sync"),
        ("GET", "/api/v1/connectwise/mappings/customers"),
        ("PUT", "/api/v1/connectwise/mappings/products"),
        ("GET", "/api/v1/connectwise/history"),
        ("POST", "/api/v1/auth/logout"),
    ],
)
async def test_without_a_session_every_call_but_login_is_401(
    world: World, method: str, path: str
) -> None:
    async with world.client() as client:
        answer = await client.request(method, path, json={"agreementId": 1})
        assert answer.status_code == 401
        assert error_of(answer)["code"] == "NotAuthenticated"


async def test_a_forged_cookie_is_not_a_session(world: World) -> None:
    async with world.client() as client:
        client.cookies.set("psasync_session", "not-signed")
        assert (await client.get("/api/v1/integrations")).status_code == 401


async def test_login_sets_a_signed_httponly_lax_cookie(world: World) -> None:
    async with world.client() as client:
        answer = await client.post(
            "/api/v1/auth/login",
            json={
                "marketplace": "us",
                "username": "demo@northwind-it.example",
                "password": "northwind-demo",
            },
        )
        assert answer.json()["reseller"] == {"id": "1000001", "name": "Northwind IT"}
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        token = {"X-CSRF-Token": answer.json()["csrfToken"]}
        assert (await client.post("/api/v1/auth/logout")).status_code == 403
        assert (await client.post("/api/v1/auth/logout", headers=token)).status_code == 204
        assert (await client.get("/api/v1/integrations")).status_code == 401


async def test_bad_connectwise_keys_are_422_and_nothing_is_stored(world: World) -> None:
    async with world.login() as client:
        tiles = (await client.get("/api/v1/integrations")).json()
        assert [(t["id"], t["state"]) for t in tiles] == [
            ("connectwise", "not_configured"),
            ("autotask", "not_configured"),
        ]
        bad = {**CONNECTWISE, "privateKey": "wrong"}
        answer = await client.put("/api/v1/integrations/connectwise", json=bad)
        assert answer.status_code == 422
        assert error_of(answer)["code"] == "ConnectWiseAuthFailed"
        tiles = (await client.get("/api/v1/integrations")).json()
        assert tiles[0]["state"] == "not_configured"
        answer = await client.put(
            "/api/v1/integrations/connectwise", json={**CONNECTWISE, "clientId": ""}
        )
        assert answer.status_code == 422


async def test_the_private_key_is_stored_encrypted_and_never_returned(world: World) -> None:
    async with world.login() as client:
        answer = await client.put("/api/v1/integrations/connectwise", json=CONNECTWISE)
        assert answer.status_code == 200
        assert answer.json()["state"] == "connected"
        assert "demoPrivateKey01" not in answer.text
        assert "demoPrivateKey01" not in (await client.get("/api/v1/integrations")).text
    from sqlalchemy import text

    async with world.services.db.session() as session:
        stored = (await session.execute(text("SELECT * FROM connectwise_settings"))).all()
    assert stored and "demoPrivateKey01" not in repr(stored)


async def test_check_changes_twice_creates_the_tasks_once(world: World) -> None:
    async with world.login() as client:
        await client.put("/api/v1/integrations/connectwise", json=CONNECTWISE)
        first = (await client.post("/api/v1/connectwise/check-changes")).json()
        titles = {task["title"] for task in first["tasks"]}
        assert first["created"] == len(first["tasks"]) == 12
        assert "Green Lane LLC 1000048531 — Change Order" in titles
        assert first["pending"] == 1, "Aspen's order is still processing"
        second = (await client.post("/api/v1/connectwise/check-changes")).json()
        assert (second["created"], second["tasks"]) == (0, [])
        listing = (await client.get("/api/v1/connectwise/tasks")).json()
        assert listing["total"] == 12


async def test_the_task_list_filters_searches_and_pages(world: World) -> None:
    async with world.ready() as client:
        changes = (await client.get("/api/v1/connectwise/tasks?orderType=change")).json()
        assert changes["total"] == 6
        assert {item["orderType"] for item in changes["items"]} == {"change"}
        found = (await client.get("/api/v1/connectwise/tasks?q=green lane")).json()
        assert [item["orderNumber"] for item in found["items"]] == ["CH0000417"]
        item = found["items"][0]
        assert item["customer"] == {"id": "1000048531", "name": "Green Lane LLC"}
        assert item["status"] == "new" and item["subscriptionId"]
        page = (await client.get("/api/v1/connectwise/tasks?limit=3&offset=9")).json()
        assert (len(page["items"]), page["total"]) == (3, 12)
        answer = await client.get("/api/v1/connectwise/tasks?status=done")
        assert answer.status_code == 400


# Eligibility and previews ------------------------------------------------------------------


async def test_agreements_come_with_their_reasons(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        found = (await client.get(f"/api/v1/connectwise/tasks/{task}/agreements")).json()
        reasons = {a["name"]: {r["code"] for r in a["reasons"]} for a in found}
        assert reasons == {
            "Green Lane - Managed Cloud": set(),
            "Green Lane - Annual Licensing": {"WrongBillingCycle"},
            "Green Lane - Canada Office": {"WrongCurrency"},
            "Green Lane - Legacy Support": {"NotActive", "Cancelled"},
        }
        assert [a["eligible"] for a in found if a["name"] == "Green Lane - Managed Cloud"] == [True]


async def test_preview_of_the_green_lane_upgrade(world: World) -> None:
    async with world.ready() as client:
        plan = await preview(client, "CH0000417", GREEN_LANE_MANAGED)
        assert amounts(plan) == ("16.66", "157.00", "182.00")
        rows = [(a["action"], a["kind"], a["quantity"], a["unitPrice"]) for a in plan["additions"]]
        assert rows == [
            ("cancel", "recurring", "10", "12.50"),
            ("create", "recurring", "12", "12.50"),
            ("create", "prorate", "2", "8.33"),
        ]
        prorate = plan["additions"][2]
        assert (prorate["effectiveDate"], prorate["cancelledDate"]) == ("2026-11-11", "2026-11-30")
        assert prorate["extPrice"] == "16.66" and prorate["key"].endswith(":prorate")


async def test_preview_with_connectwise_catalog_prices(world: World) -> None:
    async with world.ready() as client:
        plan = await preview(client, "CH0000417", GREEN_LANE_MANAGED, priceSource="connectwise")
        assert amounts(plan) == ("0.00", "157.00", "182.00")
        assert "PartialPeriodNotCharged" in {w["code"] for w in plan["warnings"]}


async def test_preview_of_a_downgrade_credits(world: World) -> None:
    async with world.ready() as client:
        plan = await preview(client, "CH0000418", 1211)
        assert amounts(plan) == ("-33.00", "330.00", "264.00")


async def test_preview_of_a_new_subscription_with_a_setup_fee(world: World) -> None:
    async with world.ready() as client:
        plan = await preview(client, "SO0000392", 1221)
        assert amounts(plan) == ("25.00", "0.00", "75.00")
        (setup,) = [a for a in plan["additions"] if a["kind"] == "one_time"]
        assert (setup["quantity"], setup["unitPrice"], setup["unitCost"]) == ("1", "50.00", "20.00")


async def test_preview_of_a_usage_order(world: World) -> None:
    async with world.ready() as client:
        plan = await preview(client, "BO0000076", 1231)
        usage = [(a["quantity"], a["extPrice"]) for a in plan["additions"]]
        assert usage == [("1250.5", "25.01"), ("340", "17.00")]
        assert {(a["effectiveDate"], a["cancelledDate"]) for a in plan["additions"]} == {
            ("2026-10-01", "2026-10-31")
        }
