"""The operator's CLI end to end: the demo sandbox over loopback, a SQLite file, and the
commands an operator types — check-changes, tasks, sync of one task, then a bulk sync."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from psasync.config import Settings
from psasync.entrypoints.cli import app
from psasync.sandbox.fixture import DEMO_FIXTURE, load_fixture
from psasync.sandbox.server import Sandbox, build_sandbox, serve_in_thread
from psasync.services import Services, auth, integrations

USERNAME = "demo@northwind-it.example"
PASSWORD = "northwind-demo"
LOGIN = ["--username", USERNAME]
runner = CliRunner()


@pytest.fixture
def sandbox() -> Sandbox:
    return build_sandbox(load_fixture(DEMO_FIXTURE))


@pytest.fixture
def base_url(sandbox: Sandbox) -> Iterator[str]:
    with serve_in_thread(sandbox.app) as url:
        yield url


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, base_url: str) -> None:
    marketplace = {
        "code": "us",
        "name": "Cloud Marketplace US",
        "url": f"{base_url}/marketplace/us",
        "subscriptionKey": "demo-us-gateway-key",
    }
    monkeypatch.setenv("PSASYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'psasync.db'}")
    monkeypatch.setenv("PSASYNC_SECRET_KEY", "cli-flow-secret-key-0123456789abcdef")
    monkeypatch.setenv("PSASYNC_MARKETPLACES", json.dumps([marketplace]))
    # The demo's orders are dated November 2026; reach them whenever the test runs.
    monkeypatch.setenv("PSASYNC_CHECK_LOOKBACK_DAYS", "3650")
    monkeypatch.setenv("PSASYNC_MARKETPLACE_PASSWORD", PASSWORD)
    monkeypatch.delenv("PSASYNC_MARKETPLACE_USERNAME", raising=False)


async def connect_connectwise(site_url: str) -> None:
    services = Services.create(Settings())
    try:
        await services.db.upgrade()
        user = await auth.login(services, marketplace="us", username=USERNAME, password=PASSWORD)
        form = integrations.ConnectWiseForm(
            site_url=site_url,
            company_id="northwind",
            public_key="demoPublicKey01",
            private_key="demoPrivateKey01",
            client_id="5b1c2a6e-3f4d-4e8a-9c1b-7d2e6f8a9b0c",
        )
        await integrations.configure_connectwise(services, user.actor, form)
    finally:
        await services.aclose()


def run_json(*arguments: str, exit_code: int = 0) -> Any:
    result = runner.invoke(app, [*arguments, *LOGIN, "--json"])
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout)


@pytest.mark.usefixtures("environment")
def test_check_changes_tasks_sync_and_bulk_sync(sandbox: Sandbox, base_url: str) -> None:
    asyncio.run(connect_connectwise(base_url))

    first = run_json("check-changes")
    again = run_json("check-changes")
    assert first["created"] == len(first["tasks"]) >= 10
    assert again["created"] == 0

    listed = run_json("tasks", "--limit", "500")
    assert listed["total"] == first["created"]
    by_number = {item["orderNumber"]: item for item in listed["items"]}
    green_lane = by_number["CH0000417"]
    assert green_lane["customer"]["name"] == "Green Lane LLC" and green_lane["status"] == "new"

    sandbox.calls.reset()
    synced = run_json("sync", str(green_lane["id"]), "--agreement", "1201")
    [entry] = synced["results"]
    assert (entry["result"], entry["agreementId"]) == ("synced", 1201)
    assert entry["sync"]["proratedAmount"] == "16.66"
    assert entry["sync"]["recurringAmount"] == {"before": "157.00", "after": "182.00"}
    assert [a["outcome"] for a in entry["sync"]["run"]["actions"]] == ["applied"] * 3
    assert sandbox.calls.total(method="POST", prefix="/v4_6_release") == 2  # two creates

    repeated = run_json("sync", str(green_lane["id"]), "--agreement", "1201", exit_code=1)
    assert repeated["results"][0]["code"] == "TaskSynced"
    assert sandbox.calls.total(method="POST", prefix="/v4_6_release") == 2  # nothing twice

    bulk = runner.invoke(app, ["sync", "--all-new", *LOGIN, "--json"])
    report = json.loads(bulk.stdout)
    assert bulk.exit_code == (1 if report["failed"] else 0), bulk.output
    results = {item["task"]["orderNumber"]: item for item in report["results"]}
    assert "CH0000417" not in results  # synced already: not new any more
    assert len(results) == first["created"] - 1
    for number in ("SO0000392", "CH0000418", "BO0000076"):
        assert results[number]["result"] == "synced", results[number]
    skipped = {
        number: item["message"] for number, item in results.items() if item["result"] == "skipped"
    }
    assert "WrongBillingCycle" in skipped["SO0000393"]  # Oakwood: quarterly agreement only
    assert "WrongCurrency" in skipped["CH0000420"]  # Maple Street: a CAD agreement
    assert "NotActive" in skipped["CH0000421"]  # Pinecrest: its agreement is cancelled
    assert "not mapped" in skipped["SO0000395"]  # Willow Creek: no company of that name

    still_new = run_json("tasks", "--status", "new")
    assert {item["orderNumber"] for item in still_new["items"]} >= set(skipped)
