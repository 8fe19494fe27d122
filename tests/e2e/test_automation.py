"""The marketplace integration user (DESIGN §7): checked with the marketplace before it is
saved, for the tenant's own reseller only, stored sealed, never returned, forgettable; the
actor of unattended work reads the marketplace with it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from psasync.services import AUTOMATION, Invalid
from psasync.services.automation import automation_actor
from psasync.store import IntegrationUser, Tenant
from tests.e2e.conftest import CONTOSO, NORTHWIND, World

pytestmark = pytest.mark.anyio

URL = "/api/v1/connectwise/automation"
PAGE = "/integrations/connectwise/automation"


async def stored(world: World) -> list[IntegrationUser]:
    async with world.services.db.session() as session:
        return list(await session.scalars(select(IntegrationUser)))


async def northwind_tenant(world: World) -> int:
    async with world.services.db.session() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.reseller_id == "1000001"))
        assert tenant is not None
        return tenant.id


def user_of(answer: httpx.Response) -> dict[str, Any]:
    """The integration user part of the automation settings."""
    return {"marketplaceUser": answer.json()["marketplaceUser"]}


def error_code(answer: httpx.Response) -> str:
    body: dict[str, Any] = answer.json()
    return str(body["error"]["code"])


async def test_without_an_integration_user_nothing_runs_unattended(world: World) -> None:
    async with world.login() as client:
        assert (await client.get(URL)).json()["marketplaceUser"] is None
        page = await client.get(PAGE)
        assert "Nothing runs unattended" in page.text
        with pytest.raises(Invalid) as refused:
            await automation_actor(world.services, await northwind_tenant(world))
        assert refused.value.code == "NoIntegrationUser"


async def test_a_wrong_password_is_refused_and_nothing_is_stored(world: World) -> None:
    async with world.login() as client:
        body = {"marketplaceUser": {**NORTHWIND, "password": "not-the-password"}}
        answer = await client.put(URL, json=body)
        assert answer.status_code == 422 and error_code(answer) == "InvalidCredentials"
        assert await stored(world) == []
        assert (await client.get(URL)).json()["marketplaceUser"] is None


async def test_another_resellers_user_is_refused(world: World) -> None:
    async with world.login() as client:
        answer = await client.put(URL, json={"marketplaceUser": CONTOSO})
        assert answer.status_code == 422 and error_code(answer) == "OtherReseller"
        assert await stored(world) == []


async def test_it_is_saved_sealed_never_returned_and_forgettable(world: World) -> None:
    async with world.login() as client:
        logins = world.sandbox.calls.total(method="POST", prefix="/marketplace/us/token")
        answer = await client.put(URL, json={"marketplaceUser": NORTHWIND})
        assert answer.status_code == 200, answer.text
        # Checked with the marketplace before it was saved.
        assert world.sandbox.calls.total(method="POST", prefix="/marketplace/us/token") > logins
        shown = {
            "marketplaceUser": {
                "username": NORTHWIND["username"],
                "configuredAt": "2026-11-24T12:00:00Z",
                "configuredBy": NORTHWIND["username"],
            }
        }
        assert user_of(answer) == shown
        assert user_of(await client.get(URL)) == shown
        (row,) = await stored(world)
        assert NORTHWIND["password"] not in row.password_encrypted
        assert world.services.box().open(row.password_encrypted) == NORTHWIND["password"]
        page = await client.get(PAGE)
        assert f"set by {NORTHWIND['username']} on 24 Nov 2026" in page.text
        assert NORTHWIND["password"] not in page.text
        # Absent keeps it; null forgets it.
        assert user_of(await client.put(URL, json={})) == shown
        assert user_of(await client.put(URL, json={"marketplaceUser": None})) == {
            "marketplaceUser": None
        }
        assert await stored(world) == []


async def test_the_automation_actor_reads_orders_as_the_integration_user(world: World) -> None:
    async with world.login() as client:
        await client.put(URL, json={"marketplaceUser": NORTHWIND})
    actor = await automation_actor(world.services, await northwind_tenant(world))
    assert actor.name == AUTOMATION and actor.is_automation
    orders = await actor.reads_marketplace().list_orders()
    assert len(orders.items) > 10


async def test_the_page_sets_and_forgets_it_with_the_form_token(world: World) -> None:
    async with world.login() as client:
        token = client.headers["X-CSRF-Token"]
        form = {"csrf_token": token, "username": NORTHWIND["username"], "password": "wrong"}
        refused = await client.post(f"{PAGE}/marketplace-user", data=form)
        assert refused.status_code == 422 and "did not accept" in refused.text
        assert await stored(world) == []
        form["password"] = NORTHWIND["password"]
        answer = await client.post(f"{PAGE}/marketplace-user", data=form)
        assert answer.status_code == 303, answer.text
        assert "set by" in (await client.get(answer.headers["location"])).text
        del client.headers["X-CSRF-Token"]
        forged = await client.post(f"{PAGE}/marketplace-user/forget")
        assert forged.status_code == 403 and len(await stored(world)) == 1
        answer = await client.post(f"{PAGE}/marketplace-user/forget", data={"csrf_token": token})
        assert answer.status_code == 303
        assert await stored(world) == []
        assert "Nothing runs unattended" in (await client.get(PAGE)).text


async def test_the_dashboard_navigation_links_the_automation_page(world: World) -> None:
    async with world.login() as client:
        page = await client.get("/integrations")
        assert f'href="{PAGE}"' in page.text
