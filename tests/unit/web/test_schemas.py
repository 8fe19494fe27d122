"""One response-model family for the REST API and the CLI (issue 14): the API answers with the
``*Out`` models of ``web.schemas``, ``--json`` prints the same models, so a program reading
either gets the same JSON; and no hand-built JSON dicts sit beside the models."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import typing
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from typer.testing import CliRunner

import psasync
from psasync.adapters.marketplace.models import SkipKind, Skipped
from psasync.config import Settings
from psasync.domain.plan import Action
from psasync.entrypoints.cli import app as cli_app
from psasync.entrypoints.cli import operations, output
from psasync.entrypoints.cli.common import Login
from psasync.services import check_changes as check_service
from psasync.services import integrations, planning
from psasync.services import sync as sync_service
from psasync.services import tasks as task_service
from psasync.services.check_changes import CheckResult
from psasync.services.sync import ActionResult, RunEvent, SyncOutcome
from psasync.services.tasks import TaskPage, TaskView
from psasync.services.types import OrderType, Plan, TaskStatus
from psasync.store import ActionOutcome, TaskFilter
from psasync.web import api, api_jobs, api_reconciliation
from psasync.web.schemas import PreviewOut
from psasync.web.session import current_user, services_of
from tests.unit.domain import builders

PACKAGE = Path(psasync.__file__).parent
WHEN = dt.datetime(2026, 11, 11, 9, 30, tzinfo=dt.UTC)
US = [{"code": "us", "name": "US", "url": "http://mp.test/marketplace/us", "subscriptionKey": "k"}]
runner = CliRunner()


def task(task_id: int = 5) -> TaskView:
    return TaskView(
        id=task_id,
        order_id=f"50000{task_id}",
        order_number=f"CH000{task_id:04d}",
        order_type=OrderType.CHANGE,
        customer_id=f"10000{task_id}",
        customer_name="Green Lane LLC",
        subscription_id="7000101",
        status=TaskStatus.NEW,
        created_at=WHEN,
        error=None,
        agreement_id=None,
        synced_at=None,
    )


def synced(task_id: int) -> TaskView:
    return dataclasses.replace(
        task(task_id),
        status=TaskStatus.SYNCED,
        agreement_id=1201,
        synced_at=WHEN + dt.timedelta(minutes=5),
        busy_until=WHEN + dt.timedelta(minutes=7),
        waiting_reason="auto-sync is off",
    )


def outcome(task_id: int, agreement_id: int) -> SyncOutcome:
    return SyncOutcome(
        run_id=9,
        task=synced(task_id),
        agreement_id=agreement_id,
        agreement_name="Green Lane Managed 365",
        resumed=False,
        currency="USD",
        prorated_amount=Decimal("16.6"),
        recurring_before=Decimal("157"),
        recurring_after=Decimal("182.00"),
        actions=(
            ActionResult(
                key=f"task:{task_id}:line1:recurring",
                action=Action.CREATE,
                kind="recurring",
                mpn=builders.E3,
                outcome=ActionOutcome.APPLIED,
                addition_id=77,
                error=None,
            ),
        ),
        events=(RunEvent(kind="surplus_deleted", key="k", addition_id=78, message="deleted"),),
    )


def plan() -> Plan:
    """A Sales Order mid-period (a prorate and a recurring addition) and a usage line priced
    below a cent, so the amounts show both the currency's decimals and more."""
    placed = builders.order(
        lines=(
            builders.line(quantity="5"),
            builders.line(2, mpn=builders.BACKUP, price="0.0002", quantity="12.5"),
        )
    )
    catalog = {
        builders.E3: builders.catalog_item(),
        builders.BACKUP: builders.catalog_item(id=9002, identifier="ACR-BACKUP"),
    }
    return builders.plan_for(placed, catalog=catalog)


def check_result() -> CheckResult:
    return CheckResult(
        created=[task(5)],
        already_known=2,
        pending=1,
        skipped=(Skipped(kind=SkipKind.ORDER_LINE, id="ORD-1", reason="no MPN", line=2),),
        checked_from=WHEN - dt.timedelta(days=31),
        checked_through=WHEN,
    )


@pytest.fixture
def use_cases(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    """The use cases behind both entry points, faked alike: the syncs they were asked for."""
    synced_calls: list[tuple[str, int, int]] = []

    async def list_tasks(_services: object, _actor: object, _wanted: TaskFilter) -> TaskPage:
        return TaskPage(items=[task(5), synced(6)], total=7)

    async def get_task(_services: object, _actor: object, task_id: int) -> TaskView:
        return task(task_id)

    async def preview(_services: object, _actor: object, _task_id: int, **_options: Any) -> Plan:
        return plan()

    async def sync(
        _services: object, _actor: object, task_id: int, *, agreement_id: int, **_options: Any
    ) -> SyncOutcome:
        synced_calls.append(("sync", task_id, agreement_id))
        return outcome(task_id, agreement_id)

    async def check_changes(_services: object, _actor: object) -> CheckResult:
        return check_result()

    async def psa_for(_services: object, _tenant_id: int) -> object:
        return object()

    monkeypatch.setattr(task_service, "list_tasks", list_tasks)
    monkeypatch.setattr(task_service, "get_task", get_task)
    monkeypatch.setattr(planning, "preview", preview)
    monkeypatch.setattr(sync_service, "sync", sync)
    monkeypatch.setattr(check_service, "check_changes", check_changes)
    monkeypatch.setattr(integrations, "psa_for", psa_for)
    return synced_calls


class Api:
    """The REST API's routes with a logged-in user and no database: the use cases are faked.
    Each call runs its own event loop, as each CLI command does."""

    def __init__(self) -> None:
        self.web = FastAPI()
        self.web.include_router(api.router)
        user = SimpleNamespace(actor=SimpleNamespace(tenant_id=1, name="ops"))
        self.web.dependency_overrides[current_user] = lambda: user
        self.web.dependency_overrides[services_of] = lambda: SimpleNamespace()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.web)
            async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
                return await c.request(method, f"/api/v1/connectwise{path}", json=body)

        answer = asyncio.run(send())
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def api_client() -> Api:
    return Api()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI logged in through a fake (no marketplace, no database)."""
    for name in ("DATABASE_URL", "SECRET_KEY", "MARKETPLACE_USERNAME"):
        monkeypatch.delenv(f"PSASYNC_{name}", raising=False)
    monkeypatch.setenv("PSASYNC_MARKETPLACES", json.dumps(US))
    monkeypatch.setenv("PSASYNC_MARKETPLACE_PASSWORD", "pw")

    @contextlib.asynccontextmanager
    async def logged_in(_settings: Settings, _login: Login) -> AsyncIterator[tuple[Any, Any]]:
        yield SimpleNamespace(), SimpleNamespace(tenant_id=1, name="ops")

    monkeypatch.setattr(operations, "logged_in", logged_in)


def cli_json(*arguments: str) -> Any:
    result = runner.invoke(cli_app, [*arguments, "--username", "u", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.usefixtures("use_cases", "cli")
def test_the_api_and_the_cli_list_tasks_in_the_same_json(api_client: Api) -> None:
    answer = api_client.call("GET", "/tasks")
    assert cli_json("tasks") == answer
    # The shape docs/api.md documents, to the field: nothing renamed, added or dropped.
    assert answer["items"][1] == {
        "id": 6,
        "title": "Green Lane LLC 100006 — Change Order",
        "orderId": "500006",
        "orderNumber": "CH0000006",
        "orderType": "change",
        "customer": {"id": "100006", "name": "Green Lane LLC"},
        "subscriptionId": "7000101",
        "status": "synced",
        "createdAt": "2026-11-11T09:30:00Z",
        "error": None,
        "agreementId": 1201,
        "syncedAt": "2026-11-11T09:35:00Z",
        "busyUntil": "2026-11-11T09:37:00Z",
        "waitingReason": "auto-sync is off",
    }


@pytest.mark.usefixtures("use_cases", "cli")
def test_the_api_and_the_cli_report_check_changes_in_the_same_json(
    api_client: Api,
) -> None:
    answer = api_client.call("POST", "/check-changes")
    assert cli_json("check-changes") == answer
    assert answer["skipped"] == [
        {"kind": "order line", "id": "ORD-1", "line": 2, "reason": "no MPN"}
    ]


@pytest.mark.usefixtures("cli")
def test_a_cli_sync_reports_each_task_in_the_api_sync_answer(
    api_client: Api, use_cases: list[tuple[str, int, int]]
) -> None:
    answer = api_client.call("POST", "/tasks/6/sync", {"agreementId": 1201})
    printed = cli_json("sync", "6", "--agreement", "1201")
    assert use_cases == [("sync", 6, 1201), ("sync", 6, 1201)]
    (run,) = printed["results"]
    assert run["sync"] == answer
    assert run["task"] == answer["task"]
    # Amounts stay decimal strings with the currency's decimals, never floats.
    assert answer["proratedAmount"] == "16.60"
    assert answer["recurringAmount"] == {"before": "157.00", "after": "182.00"}
    assert answer["run"]["actions"][0]["outcome"] == "applied"


@pytest.mark.usefixtures("use_cases")
def test_the_cli_prints_a_preview_as_the_api_answers_it(
    api_client: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    previewed = api_client.call("POST", "/tasks/5/preview", {"agreementId": 501})
    output.print_json(PreviewOut.of(plan()))
    assert json.loads(capsys.readouterr().out) == previewed
    assert previewed["proratedAmount"] == "100.00"
    assert previewed["recurringAmount"] == {"before": "0.00", "after": "150.00"}
    assert previewed["period"] == {"start": "2026-11-01", "end": "2026-12-01"}
    (usage,) = [
        a
        for a in previewed["additions"]
        if a["mpn"] == builders.BACKUP and a["kind"] == "recurring"
    ]
    assert (usage["unitPrice"], usage["quantity"], usage["extPrice"]) == ("0.0002", "12.5", "0.00")
    for addition in previewed["additions"]:
        for name in ("quantity", "unitPrice", "unitCost", "extPrice"):
            assert isinstance(addition[name], str), (name, addition[name])


# No hand-built JSON beside the models ----------------------------------------------------------

ENTRY_POINTS = ("web", "entrypoints")
# The modules that answer in the API's JSON: the API's handlers and models, and the CLI. Other
# web modules key dicts in camelCase for other ends (form fields, query strings, error details).
ANSWERING = ("web/api*.py", "web/schemas*.py", "entrypoints/cli/*.py")


def dict_builders(root: Path) -> list[str]:
    """What builds API JSON by hand under ``root``: a function of the web or the entry points
    named ``*_json`` that returns something (``print_json`` prints a model), or in a module
    that answers in the API's JSON a dict literal keyed by camelCase strings (the wire's names,
    which only the models' alias generator should spell)."""
    answering = {path for pattern in ANSWERING for path in root.glob(pattern)}
    found: list[str] = []
    for folder in ENTRY_POINTS:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            where = path.relative_to(root).as_posix()
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    returns = ast.unparse(node.returns) if node.returns else None
                    if node.name.endswith("_json") and returns != "None":
                        found.append(f"{where}:{node.lineno} {node.name}")
                elif (
                    path in answering
                    and isinstance(node, ast.Dict)
                    and any(_camel_key(key) for key in node.keys)
                ):
                    found.append(f"{where}:{node.lineno} a dict keyed in camelCase")
    return found


def _camel_key(key: ast.expr | None) -> bool:
    if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
        return False
    name = key.value
    return name.isidentifier() and name[:1].islower() and not name.islower() and "_" not in name


def test_no_module_of_the_web_or_the_cli_builds_json_dicts_by_hand() -> None:
    assert dict_builders(PACKAGE) == []


def test_the_dict_builder_check_finds_one(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "entrypoints" / "cli").mkdir(parents=True)
    (tmp_path / "web" / "api.py").write_text(
        "def task_json(task):\n    return {}\n\n"
        "def print_json(model) -> None:\n    pass\n\n"
        "def _tile(tile):\n    return {'siteUrl': tile.site_url, 'id': tile.id}\n",
        encoding="utf-8",
    )
    (tmp_path / "web" / "pages.py").write_text("FILTERS = {'customerId': ''}\n")
    (tmp_path / "entrypoints" / "cli" / "output.py").write_text(
        "def job_out(job) -> dict:\n    return {'createdAt': job.created_at}\n"
    )
    assert dict_builders(tmp_path) == [
        "web/api.py:1 task_json",
        "web/api.py:8 a dict keyed in camelCase",
        "entrypoints/cli/output.py:2 a dict keyed in camelCase",
    ]


def test_every_api_route_answers_with_a_response_model() -> None:
    """A handler returns a model (FastAPI serializes it by alias) or a plain Response (204,
    CSV); never a dict, which the models would only check after the fact."""
    for router in (api.router, api_jobs.router, api_reconciliation.router):
        for route in router.routes:
            assert isinstance(route, APIRoute)
            returned = typing.get_type_hints(route.endpoint)["return"]
            if isinstance(returned, type) and issubclass(returned, Response):
                continue
            assert route.response_model is not None, route.path
            answered = typing.get_args(returned)[0] if typing.get_origin(returned) else returned
            assert isinstance(answered, type) and issubclass(answered, BaseModel), (
                route.path,
                returned,
            )
