"""The automation page and the dashboard (DESIGN §4 pages, §8): the settings form saved and
refused with the reason (nothing stored), Run now queued, why nothing runs without an
integration user, the next scheduled check and the last run on the dashboard, and a task's
waiting reason on the list and on its page."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select, update

from psasync.store import AutomationConfig, SyncTask
from tests.e2e.conftest import NORTHWIND, World

pytestmark = pytest.mark.anyio

PAGE = "/integrations/connectwise/automation"


def token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def test_the_page_says_why_nothing_runs_and_run_now_is_off(world: World) -> None:
    async with world.login() as client:
        page = await client.get(PAGE)
        assert page.status_code == 200
        assert 'id="why-nothing-runs"' in page.text and "Nothing runs unattended" in page.text
        assert re.search(r'<button type="submit" class="primary"\s+disabled>Run now', page.text)
        refused = await client.post(PAGE + "/run", data={"csrf_token": token(page)})
        assert refused.status_code == 422 and "Nothing runs unattended" in refused.text


async def test_the_settings_form_saves_and_shows_the_next_run(world: World) -> None:
    async with world.login() as client:
        page = await client.get(PAGE)
        form = {
            "csrf_token": token(page),
            "every": "1d",
            "at": "06:30",
            "timezone": "Europe/Berlin",
            "order_types": ["sales", "change"],
            "price_source": "marketplace",
            "allow_credits": "true",
            "max_amount": "500",
            "emails": "ops@northwind-it.example\nbilling@northwind-it.example",
            "webhook_url": "https://hooks.example.com/x",
        }
        saved = await client.post(PAGE + "/settings", data=form)
        assert saved.status_code == 303, saved.text
        shown = (await client.get("/api/v1/connectwise/automation")).json()
        assert shown["schedule"] == {"every": "1d", "at": "06:30", "timezone": "Europe/Berlin"}
        assert shown["autoSync"]["orderTypes"] == ["change", "sales"]
        assert shown["autoSync"]["maxAmount"] == "500.00" and shown["autoSync"]["allowCredits"]
        assert shown["notify"]["emails"] == [
            "ops@northwind-it.example",
            "billing@northwind-it.example",
        ]
        page = await client.get(PAGE)
        assert "The automation settings are saved." not in page.text  # only after the redirect
        assert "none until an integration user is set" in page.text
        assert (
            'value="06:30"' in page.text and 'value="change" id="type-change" checked' in page.text
        )


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("timezone", "Mars/Olympus", "not a known time zone"),
        ("at", "6 am", "HH:MM"),
        ("emails", "not-an-address", "Not an e-mail address"),
        ("webhook_url", "http://hooks.example.com/x", "https://"),
        ("max_amount", "lots", "The limit per task"),
        ("every", "2h", "how often"),
    ],
)
async def test_a_refused_form_says_why_and_stores_nothing(
    world: World, field: str, value: str, words: str
) -> None:
    async with world.login() as client:
        page = await client.get(PAGE)
        form = {"csrf_token": token(page), "every": "1d", "at": "06:00", field: value}
        refused = await client.post(PAGE + "/settings", data=form)
        assert refused.status_code == 422
        assert words in refused.text and 'id="automation-error"' in refused.text
        if field != "every":  # what was typed is kept (a select offers its choices only)
            assert value in refused.text
        async with world.services.db.session() as session:
            assert list(await session.scalars(select(AutomationConfig))) == []


async def test_the_dashboard_and_the_task_show_the_waiting_reason(world: World) -> None:
    async with world.ready() as client:
        answer = await client.put(
            "/api/v1/connectwise/automation",
            json={"marketplaceUser": NORTHWIND, "schedule": {"every": "15m"}},
        )
        assert answer.status_code == 200
        item = (await client.get("/api/v1/connectwise/tasks")).json()["items"][0]
        async with world.services.db.session() as session:
            await session.execute(
                update(SyncTask)
                .where(SyncTask.id == item["id"])
                .values(waiting_reason="2 agreements eligible")
            )
        listed = (await client.get("/api/v1/connectwise/tasks")).json()["items"]
        assert {i["id"]: i["waitingReason"] for i in listed}[item["id"]] == "2 agreements eligible"
        one = (await client.get(f"/api/v1/connectwise/tasks/{item['id']}")).json()
        assert one["waitingReason"] == "2 agreements eligible"
        dashboard = await client.get("/integrations/connectwise")
        assert "Waiting for review: 2 agreements eligible" in dashboard.text
        assert "Next scheduled check: 24 Nov 2026" in dashboard.text
        task_page = await client.get(f"/integrations/connectwise/tasks/{item['id']}")
        assert "Auto-sync left this task for you: 2 agreements eligible." in task_page.text
