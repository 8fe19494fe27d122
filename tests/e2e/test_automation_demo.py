"""The demo runs with automation ready to switch on: its fixture has an API user for unattended
work, ``psasync demo`` prints it apart from the people's logins, and the automation settings
accept it as the integration user."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from rich.console import Console

from psasync.entrypoints.demo import (
    DemoRun,
    connectwise_credentials,
    demo_integration_users,
    demo_logins,
    demo_settings,
    show_demo,
)
from psasync.sandbox.fixture import DEMO_FIXTURE, load_fixture
from tests.e2e.conftest import World

AUTOMATION_USER = {
    "username": "automation@northwind-it.example",
    "password": "northwind-automation",
}


def test_the_demo_prints_its_integration_user_apart_from_the_logins() -> None:
    fixture = load_fixture(DEMO_FIXTURE)
    (user,) = demo_integration_users(fixture)
    assert (user.reseller, user.username, user.password) == (
        "Northwind IT",
        AUTOMATION_USER["username"],
        AUTOMATION_USER["password"],
    )
    assert AUTOMATION_USER["username"] not in {login.username for login in demo_logins(fixture)}
    sandbox = "http://127.0.0.1:8001"
    database = Path("/srv/psasync-demo/demo.db")
    run = DemoRun(
        app_url="http://127.0.0.1:8000",
        sandbox_url=sandbox,
        database=database,
        replaced_database=False,
        settings=demo_settings(
            fixture, sandbox_url=sandbox, database=database, today=user_day(), secret_key="k"
        ),
        logins=demo_logins(fixture),
        connectwise=connectwise_credentials(fixture, site_url=sandbox),
        integration_users=demo_integration_users(fixture),
    )
    out = io.StringIO()
    show_demo(Console(file=out, width=400, color_system=None), run)
    printed = out.getvalue()
    assert (
        "To run it unattended (scheduled checks, auto-sync): on the automation page, set the "
        "integration user of Northwind IT: username automation@northwind-it.example, "
        "password northwind-automation"
    ) in printed


def user_day() -> dt.date:
    return dt.date(2026, 11, 24)


@pytest.mark.anyio
async def test_the_demos_integration_user_is_accepted(world: World) -> None:
    async with world.login() as client:
        answer = await client.put(
            "/api/v1/connectwise/automation", json={"marketplaceUser": AUTOMATION_USER}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["marketplaceUser"]["username"] == AUTOMATION_USER["username"]
