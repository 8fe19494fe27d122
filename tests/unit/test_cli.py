import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import sys
import types
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import typer
import uvicorn
from typer.testing import CliRunner

from psasync import __version__
from psasync.bootstrap import job_engine
from psasync.config import Settings
from psasync.entrypoints.cli import app, operations, output, sandbox
from psasync.entrypoints.cli.common import Login, UsageProblem, marketplace_code
from psasync.services import Invalid, NotAuthenticated, UpstreamFailed, integrations, planning
from psasync.services import check_changes as check_service
from psasync.services import sync as sync_service
from psasync.services import tasks as task_service
from psasync.services.bulk_sync import BulkSyncOptions, BulkSyncProgress, Result, bulk_sync
from psasync.services.check_changes import CheckResult
from psasync.services.errors import CustomerNotMapped
from psasync.services.sync import SyncOutcome
from psasync.services.tasks import TaskPage, TaskView
from psasync.services.types import OrderType, TaskStatus
from psasync.store import TaskFilter
from psasync.web.schemas import CheckChangesOut, ErrorOut, TaskPageOut

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "SECRET_KEY",
        "MARKETPLACES",
        "CHECK_LOOKBACK_DAYS",
        "SYNC_LEASE_SECONDS",
        "UNKNOWN_OUTCOME_QUIET_SECONDS",
        "MARKETPLACE_PASSWORD",
        "MARKETPLACE_USERNAME",
    ):
        monkeypatch.delenv(f"PSASYNC_{name}", raising=False)


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"psasync {__version__}"


def test_config_shows_settings_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSASYNC_SECRET_KEY", "hush-hush")
    monkeypatch.setenv(
        "PSASYNC_MARKETPLACES",
        json.dumps(
            [
                {
                    "code": "us",
                    "name": "Cloud Marketplace US",
                    "url": "https://mp.example.test/marketplace/us",
                    "subscriptionKey": "sk-1",
                }
            ]
        ),
    )
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0
    assert "Cloud Marketplace US" in result.stdout
    assert "hush-hush" not in result.stdout and "sk-1" not in result.stdout


def test_config_hides_passwords_inside_urls_and_shows_every_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PSASYNC_DATABASE_URL", "postgresql://psasync:pg-hunter2@db.example/psasync")
    monkeypatch.setenv("PSASYNC_SYNC_LEASE_SECONDS", "120")
    result = runner.invoke(app, ["config"], terminal_width=200)
    assert result.exit_code == 0
    assert "pg-hunter2" not in result.stdout
    assert "postgresql://psasync:***@db.example/psasync" in result.stdout
    for name in Settings.model_fields:
        if name != "marketplaces":
            assert name in result.stdout, name
    assert "120" in result.stdout and "75" in result.stdout


def test_config_without_marketplaces_says_so() -> None:
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0
    assert "none configured" in result.stdout
    assert "not set" in result.stdout


def test_config_names_the_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSASYNC_CHECK_LOOKBACK_DAYS", "0")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    assert "PSASYNC_CHECK_LOOKBACK_DAYS" in result.stdout


# Operator commands: db upgrade, serve, check-changes, tasks, sync ------------------------------
# The use cases are replaced by fakes here; tests/integration/test_cli_flow.py runs them for real.


def test_every_command_says_what_it_does() -> None:
    group: Any = typer.main.get_command(app)
    commands: list[tuple[list[str], Any]] = []
    for name, command in group.commands.items():
        commands.append(([name], command))
        subcommands = getattr(command, "commands", {})
        commands.extend(([name, sub], child) for sub, child in subcommands.items())
    assert {"serve", "check-changes", "tasks", "sync", "db", "db upgrade"} <= {
        " ".join(words) for words, _ in commands
    }
    for words, command in commands:
        assert command.help, f"psasync {' '.join(words)} has no help text"
        result = runner.invoke(app, [*words, "--help"])
        assert result.exit_code == 0, words
        assert "Usage" in result.stdout


def test_db_upgrade_migrates_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PSASYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    first = runner.invoke(app, ["db", "upgrade"])
    again = runner.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0 and "empty →" in first.stdout
    assert again.exit_code == 0 and "already at the newest revision" in again.stdout


def test_db_upgrade_refuses_a_database_it_cannot_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSASYNC_DATABASE_URL", "mysql://db.example/psasync")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "sqlite or postgresql" in result.stderr


def test_serve_refuses_to_start_without_a_secret_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PSASYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **_kwargs: started.append(args))
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "PSASYNC_SECRET_KEY is not set" in result.stderr
    assert not started and not (tmp_path / "p.db").exists()


def test_serve_migrates_then_runs_the_web_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PSASYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("PSASYNC_SECRET_KEY", "k" * 32)
    made: list[Settings] = []
    web_app = types.ModuleType("psasync.web.app")

    def create_app(settings: Settings, *, services: object = None, background: object) -> str:
        assert services is None
        assert background is job_engine  # the job engine runs beside the app
        made.append(settings)
        return "the app"

    web_app.create_app = create_app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "psasync.web.app", web_app)
    served: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append((app, kwargs)))
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "8765"])  # noqa: S104
    assert result.exit_code == 0, result.output
    assert made and made[0].secret_key is not None
    assert served == [("the app", {"host": "0.0.0.0", "port": 8765, "log_level": "info"})]  # noqa: S104
    assert "already at" in runner.invoke(app, ["db", "upgrade"]).stdout


# Fakes of the use cases -------------------------------------------------------------------------

US = [{"code": "us", "name": "US", "url": "http://mp.test/marketplace/us", "subscriptionKey": "k"}]
WHEN = dt.datetime(2026, 11, 11, 9, 30, tzinfo=dt.UTC)


def task(task_id: int, *, customer: str = "Green Lane LLC") -> TaskView:
    return TaskView(
        id=task_id,
        order_id=f"50000{task_id}",
        order_number=f"CH000{task_id:04d}",
        order_type=OrderType.CHANGE,
        customer_id=f"10000{task_id}",
        customer_name=customer,
        subscription_id="7000101",
        status=TaskStatus.NEW,
        created_at=WHEN,
        error=None,
        agreement_id=None,
        synced_at=None,
    )


def outcome(task_id: int, agreement_id: int) -> SyncOutcome:
    synced = dataclasses.replace(task(task_id), status=TaskStatus.SYNCED, agreement_id=agreement_id)
    return SyncOutcome(
        run_id=task_id,
        task=synced,
        agreement_id=agreement_id,
        agreement_name=f"Agreement {agreement_id}",
        resumed=False,
        currency="USD",
        prorated_amount=Decimal("16.66"),
        recurring_before=Decimal("157.00"),
        recurring_after=Decimal("182.00"),
        actions=(),
    )


def choice(agreement_id: int, *reasons: str) -> SimpleNamespace:
    return SimpleNamespace(
        agreement=SimpleNamespace(id=agreement_id, name=f"Agreement {agreement_id}"),
        eligibility=SimpleNamespace(
            eligible=not reasons,
            reasons=[SimpleNamespace(code=SimpleNamespace(value=r)) for r in reasons],
        ),
    )


@pytest.fixture
def logins(monkeypatch: pytest.MonkeyPatch) -> list[Login]:
    """The CLI logs in through a fake: the logins it attempted."""
    monkeypatch.setenv("PSASYNC_MARKETPLACES", json.dumps(US))
    attempted: list[Login] = []

    @contextlib.asynccontextmanager
    async def logged_in(_settings: Settings, login: Login) -> AsyncIterator[tuple[Any, Any]]:
        attempted.append(login)
        yield SimpleNamespace(), SimpleNamespace(tenant_id=1)

    monkeypatch.setattr(operations, "logged_in", logged_in)
    return attempted


def check_result(*created: TaskView) -> CheckResult:
    return CheckResult(
        created=list(created),
        already_known=2,
        pending=1,
        skipped=(),
        checked_from=WHEN - dt.timedelta(days=31),
        checked_through=WHEN,
    )


def fake_check(monkeypatch: pytest.MonkeyPatch, result: CheckResult | Exception) -> None:
    async def check_changes(_services: object, _user: object) -> CheckResult:
        if isinstance(result, Exception):
            raise result
        return result

    monkeypatch.setattr(check_service, "check_changes", check_changes)


def test_check_changes_needs_a_password(
    monkeypatch: pytest.MonkeyPatch, logins: list[Login]
) -> None:
    fake_check(monkeypatch, check_result())
    result = runner.invoke(app, ["check-changes", "--username", "u"])
    assert result.exit_code == 2
    assert "PSASYNC_MARKETPLACE_PASSWORD" in result.stderr
    assert logins == []


def test_the_password_comes_from_the_environment_or_stdin(
    monkeypatch: pytest.MonkeyPatch, logins: list[Login]
) -> None:
    fake_check(monkeypatch, check_result())
    piped = runner.invoke(app, ["check-changes", "--username", "u"], input="from-stdin\n")
    monkeypatch.setenv("PSASYNC_MARKETPLACE_PASSWORD", "from-env")
    from_env = runner.invoke(app, ["check-changes", "--username", "u", "--marketplace", "us"])
    assert piped.exit_code == 0 and from_env.exit_code == 0
    assert logins == [
        Login(marketplace=None, username="u", password="from-stdin"),
        Login(marketplace="us", username="u", password="from-env"),
    ]


@pytest.mark.usefixtures("logins")
def test_check_changes_prints_counts_and_the_new_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSASYNC_MARKETPLACE_PASSWORD", "pw")
    fake_check(monkeypatch, check_result(task(5), task(6, customer="Bluebird Dental")))
    result = runner.invoke(app, ["check-changes", "--username", "u"])
    assert result.exit_code == 0, result.output
    assert "2 created, 2 already known, 1 pending" in result.stdout
    assert "CH0000005" in result.stdout and "Bluebird Dental" in result.stdout
    assert "2026-11-11" in result.stdout


@pytest.mark.usefixtures("logins")
def test_check_changes_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSASYNC_MARKETPLACE_PASSWORD", "pw")
    fake_check(monkeypatch, check_result(task(5)))
    result = runner.invoke(app, ["check-changes", "--username", "u", "--json"])
    data = json.loads(result.stdout)
    assert (data["created"], data["alreadyKnown"], data["pending"]) == (1, 2, 1)
    assert data["tasks"][0]["orderNumber"] == "CH0000005"
    assert data["tasks"][0]["customer"] == {"id": "100005", "name": "Green Lane LLC"}
    # The REST API's own response model, serialized as the API serializes it.
    assert CheckChangesOut.model_validate_json(result.stdout) == CheckChangesOut.of(
        check_result(task(5))
    )
    assert data["tasks"][0]["createdAt"] == "2026-11-11T09:30:00Z"


@pytest.mark.usefixtures("logins")
def test_a_refused_request_is_an_error_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSASYNC_MARKETPLACE_PASSWORD", "pw")
    refused = NotAuthenticated("Invalid marketplace credentials.", code="InvalidCredentials")
    fake_check(monkeypatch, refused)
    shown = runner.invoke(app, ["check-changes", "--username", "u"])
    as_json = runner.invoke(app, ["check-changes", "--username", "u", "--json"])
    assert shown.exit_code == 1 and "Invalid marketplace credentials" in shown.stderr
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["error"]["code"] == "InvalidCredentials"
    assert ErrorOut.model_validate_json(as_json.stdout).error.message.startswith("Invalid")


def test_the_marketplace_must_be_named_when_several_are_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    two = [*US, {**US[0], "code": "eu"}]
    monkeypatch.setenv("PSASYNC_MARKETPLACES", json.dumps(two))
    monkeypatch.setenv("PSASYNC_MARKETPLACE_PASSWORD", "pw")
    with pytest.raises(UsageProblem, match="--marketplace"):
        marketplace_code(Settings(), None)
    assert marketplace_code(Settings(), "eu") == "eu"


@pytest.mark.usefixtures("logins")
def test_tasks_passes_the_filters_and_prints_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSASYNC_MARKETPLACE_PASSWORD", "pw")
    asked: list[TaskFilter] = []

    async def list_tasks(_services: object, _user: object, wanted: TaskFilter) -> TaskPage:
        asked.append(wanted)
        return TaskPage(items=[task(5)], total=7)

    monkeypatch.setattr(task_service, "list_tasks", list_tasks)
    arguments = ["tasks", "--username", "u", "--status", "new", "--type", "change"]
    result = runner.invoke(app, [*arguments, "--search", "green", "--limit", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == 7
    assert TaskPageOut.model_validate_json(result.stdout).items[0].order_number == "CH0000005"
    assert asked == [
        TaskFilter(status=TaskStatus.NEW, order_type="change", query="green", limit=1, offset=0)
    ]
    table = runner.invoke(app, ["tasks", "--username", "u", "--offset", "3"])
    assert "CH0000005" in table.stdout and "Tasks 4–4 of 7" in table.stdout


def test_tasks_refuses_an_unknown_status(logins: list[Login]) -> None:
    result = runner.invoke(app, ["tasks", "--username", "u", "--status", "done"])
    assert result.exit_code == 2 and logins == []


@pytest.mark.parametrize(
    "arguments",
    [["sync"], ["sync", "5", "--all-new"], ["sync", "--all-new", "--agreement", "1201"]],
    ids=["nothing to sync", "ids and --all-new", "--all-new with --agreement"],
)
def test_sync_needs_either_task_ids_or_all_new(arguments: list[str], logins: list[Login]) -> None:
    result = runner.invoke(app, [*arguments, "--username", "u"])
    assert result.exit_code == 2
    assert logins == []


@pytest.fixture
def vendor(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Fake use cases behind sync: tasks, agreements per task, and what sync does per task."""
    world: dict[str, Any] = {"tasks": [], "agreements": {}, "fail": {}, "synced": []}
    monkeypatch.setenv("PSASYNC_MARKETPLACE_PASSWORD", "pw")

    async def connectwise_for(_services: object, _tenant_id: int) -> object:
        return object()

    async def list_tasks(_services: object, _user: object, wanted: TaskFilter) -> TaskPage:
        assert wanted.status is TaskStatus.NEW
        return TaskPage(items=world["tasks"][wanted.offset :], total=len(world["tasks"]))

    async def get_task(_services: object, _user: object, task_id: int) -> TaskView:
        return task(task_id)

    async def agreements(_services: object, _user: object, task_id: int) -> object:
        found = world["agreements"][task_id]
        if isinstance(found, Exception):
            raise found
        return found

    async def sync(
        _services: object, _user: object, task_id: int, *, agreement_id: int, price_source: str
    ) -> SyncOutcome:
        if task_id in world["fail"]:
            raise world["fail"][task_id]
        world["synced"].append((task_id, agreement_id, price_source))
        return outcome(task_id, agreement_id)

    monkeypatch.setattr(integrations, "psa_for", connectwise_for)
    monkeypatch.setattr(task_service, "list_tasks", list_tasks)
    monkeypatch.setattr(task_service, "get_task", get_task)
    monkeypatch.setattr(planning, "agreements", agreements)
    monkeypatch.setattr(sync_service, "sync", sync)
    return world


@pytest.mark.usefixtures("logins")
def test_sync_of_named_tasks_to_an_agreement(vendor: dict[str, Any]) -> None:
    arguments = ["sync", "5", "6", "5", "--agreement", "1201", "--price-source", "connectwise"]
    result = runner.invoke(app, [*arguments, "--username", "u"])
    assert result.exit_code == 0, result.output
    assert vendor["synced"] == [(5, 1201, "connectwise"), (6, 1201, "connectwise")]
    assert "2 synced, 0 skipped, 0 failed" in result.stdout
    assert "16.66 USD" in result.stdout


@pytest.mark.usefixtures("logins")
def test_bulk_sync_picks_the_one_eligible_agreement_and_goes_on_after_failures(
    vendor: dict[str, Any],
) -> None:
    vendor["tasks"] = [task(n) for n in range(1, 7)]
    vendor["agreements"] = {
        1: [choice(11), choice(12, "WrongCurrency")],
        2: [choice(21), choice(22)],
        3: [choice(31, "WrongBillingCycle")],
        4: CustomerNotMapped("not mapped"),
        5: [choice(51)],
        6: [choice(61)],
    }
    vendor["fail"] = {
        5: UpstreamFailed("ConnectWise: down", code="SyncFailed"),
        6: RuntimeError("boom"),
    }
    result = runner.invoke(app, ["sync", "--all-new", "--username", "u", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["synced"], data["skipped"], data["failed"]) == (1, 3, 2)
    by_task = {entry["taskId"]: entry for entry in data["results"]}
    assert by_task[1]["result"] == "synced" and by_task[1]["agreementId"] == 11
    assert by_task[1]["sync"]["proratedAmount"] == "16.66"
    assert "2 eligible agreements" in by_task[2]["message"]
    assert by_task[2]["message"].endswith("sync it with --agreement")
    assert by_task[2]["code"] == "SeveralEligibleAgreements"
    assert by_task[2]["details"] == {"eligibleAgreementIds": [21, 22]}
    assert "WrongBillingCycle" in by_task[3]["message"]
    assert by_task[4]["result"] == "skipped" and by_task[4]["message"] == "not mapped"
    assert by_task[4]["code"] == "CustomerNotMapped"
    assert (by_task[5]["result"], by_task[5]["code"]) == ("failed", "SyncFailed")
    assert (by_task[6]["code"], by_task[6]["message"]) == ("InternalError", "RuntimeError: boom")
    assert vendor["synced"] == [(1, 11, "marketplace")]


@pytest.mark.usefixtures("logins")
def test_bulk_sync_table_and_nothing_to_do(vendor: dict[str, Any]) -> None:
    empty = runner.invoke(app, ["sync", "--all-new", "--username", "u"])
    vendor["tasks"] = [task(1), task(2)]
    vendor["agreements"] = {1: [choice(11)], 2: []}
    shown = runner.invoke(app, ["sync", "--all-new", "--username", "u"])
    assert empty.exit_code == 0 and "no new tasks" in empty.stdout
    assert shown.exit_code == 0, shown.output
    assert "1 synced, 1 skipped, 0 failed" in shown.stdout
    assert "no agreements" in shown.stdout


@pytest.mark.usefixtures("logins")
def test_sync_stops_before_any_task_when_connectwise_is_not_connected(
    monkeypatch: pytest.MonkeyPatch, vendor: dict[str, Any]
) -> None:
    async def not_connected(_services: object, _tenant_id: int) -> object:
        raise Invalid("ConnectWise is not connected yet", code="NotConfigured")

    monkeypatch.setattr(integrations, "psa_for", not_connected)
    result = runner.invoke(app, ["sync", "5", "--agreement", "1201", "--username", "u"])
    assert result.exit_code == 1
    assert "not connected" in result.stderr and vendor["synced"] == []


@pytest.mark.usefixtures("logins")
def test_bulk_sync_json_is_the_bulk_sync_model(vendor: dict[str, Any]) -> None:
    vendor["tasks"] = [task(1)]
    vendor["agreements"] = {1: [choice(11)]}
    result = runner.invoke(app, ["sync", "--all-new", "--username", "u", "--json"])
    assert result.exit_code == 0, result.output
    parsed = output.BulkSyncOut.model_validate_json(result.stdout)
    (run,) = parsed.results
    assert run.sync is not None and run.sync.run.agreement_name == "Agreement 11"
    assert run.task is not None and run.task.status == "synced"


def test_bulk_sync_reports_progress_before_and_after_each_task(vendor: dict[str, Any]) -> None:
    vendor["tasks"] = [task(n) for n in range(1, 7)]
    vendor["agreements"] = {n: [choice(10 * n)] for n in range(1, 7)}
    reports: list[BulkSyncProgress] = []
    actor = SimpleNamespace(tenant_id=1)
    options = BulkSyncOptions(concurrency=3)
    result = asyncio.run(bulk_sync(SimpleNamespace(), actor, options, progress=reports.append))  # type: ignore[arg-type]
    assert result.count(Result.SYNCED) == 6 and not result.any_failed
    assert [(r.done, r.total) for r in reports] == [(n, 6) for n in range(7)]
    assert reports[0].last is None
    assert {r.last.task_id for r in reports[1:] if r.last} == set(range(1, 7))
    assert [run.task_id for run in result.runs] == list(range(1, 7))  # in the order found


@pytest.mark.usefixtures("logins")
def test_a_long_bulk_sync_shows_a_progress_bar_and_the_same_result(
    vendor: dict[str, Any],
) -> None:
    vendor["tasks"] = [task(n) for n in range(1, 8)]
    vendor["agreements"] = {n: [choice(10 * n)] for n in range(1, 8)}
    result = runner.invoke(app, ["sync", "--all-new", "--username", "u"])
    assert result.exit_code == 0, result.output
    assert "7 synced, 0 skipped, 0 failed" in result.stdout


@pytest.mark.parametrize(
    ("options", "code"),
    [
        (BulkSyncOptions(agreement_id=1201), "AgreementNeedsTasks"),
        (BulkSyncOptions(task_ids=(5,), concurrency=0), "InvalidConcurrency"),
    ],
)
def test_bulk_sync_refuses_options_that_make_no_sense(
    vendor: dict[str, Any], options: BulkSyncOptions, code: str
) -> None:
    actor = SimpleNamespace(tenant_id=1)
    with pytest.raises(Invalid) as refused:
        asyncio.run(bulk_sync(SimpleNamespace(), actor, options))  # type: ignore[arg-type]
    assert refused.value.code == code and vendor["synced"] == []


def test_a_task_named_twice_is_synced_once() -> None:
    assert BulkSyncOptions(task_ids=(5, 6, 5)).task_ids == (5, 6)


def test_sandbox_passes_late_applies_to_the_fault_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[Any] = []

    def build(_fixture: Any, *, faults: Any) -> SimpleNamespace:
        built.append(faults)
        return SimpleNamespace(app=object(), marketplace_codes=["us"])

    monkeypatch.setattr(sandbox, "build_sandbox", build)
    monkeypatch.setattr(sandbox, "hide_dropped_connection_tracebacks", lambda: None)
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **_kwargs: None)
    result = runner.invoke(
        app, ["sandbox", "--rate-drop", "0.1", "--rate-late", "0.2", "--late-apply-seconds", "45"]
    )
    assert result.exit_code == 0, result.output
    (faults,) = built
    assert (faults.rate_drop, faults.rate_late, faults.late_apply_seconds) == (0.1, 0.2, 45.0)

    refused = runner.invoke(app, ["sandbox", "--late-apply-seconds", "601"])
    assert refused.exit_code == 2 and "Cannot start the sandbox" in refused.output


def test_the_worker_needs_postgresql(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PSASYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "needs PostgreSQL" in result.stderr and "psasync serve" in result.stderr
