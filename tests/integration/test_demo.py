"""``psasync demo`` over loopback: the app and both sandboxes on free ports, a SQLite file in a
temporary data directory, and a browser's worth of API calls with what the demo printed."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from psasync.adapters.connectwise import agreement_record_url
from psasync.entrypoints import demo
from psasync.entrypoints.cli import app
from psasync.entrypoints.demo import DemoRun, start_demo

runner = CliRunner()
GREEN_LANE_MANAGED = 1201


class Browser:
    """A logged-in API client, carrying the session's CSRF token on every change."""

    @classmethod
    @contextlib.contextmanager
    def logged_in(cls, run: DemoRun) -> Iterator[Browser]:
        browser = cls(run)
        try:
            yield browser
        finally:
            browser.http.close()

    def __init__(self, run: DemoRun) -> None:
        self.http = httpx.Client(base_url=run.app_url, timeout=30)
        login = run.logins[0]
        answer = self.http.post(
            "/api/v1/auth/login",
            json={
                "marketplace": login.marketplace_code,
                "username": login.username,
                "password": login.password,
            },
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["reseller"]["name"] == login.reseller == "Northwind IT"
        self.csrf = answer.json()["csrfToken"]

    def call(self, method: str, path: str, body: object = None) -> Any:
        answer = self.http.request(method, path, json=body, headers={"X-CSRF-Token": self.csrf})
        assert answer.is_success, answer.text
        return answer.json()

    def connect_connectwise(self, run: DemoRun) -> dict[str, Any]:
        [credentials] = run.connectwise
        form = {
            "siteUrl": credentials.site_url,
            "companyId": credentials.company_id,
            "publicKey": credentials.public_key,
            "privateKey": credentials.private_key,
            "clientId": credentials.client_id,
        }
        return dict(self.call("PUT", "/api/v1/integrations/connectwise", form))


def record_page(run: DemoRun, agreement_id: int) -> httpx.Response:
    [credentials] = run.connectwise
    url = agreement_record_url(
        credentials.site_url,
        codebase="v4_6_release",
        agreement_id=agreement_id,
        company_id=credentials.company_id,
    )
    return httpx.get(url)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "demo-data"


def test_the_demo_runs_the_whole_flow_and_starts_afresh_each_time(data_dir: Path) -> None:
    with start_demo(data_dir=data_dir) as run, contextlib.ExitStack() as stack:
        assert not run.replaced_database
        assert run.database == data_dir.resolve() / "psasync-demo.db" and run.database.exists()
        assert ":0" not in run.app_url and ":0" not in run.sandbox_url
        assert run.login_url == f"{run.app_url}/login"
        assert httpx.get(f"{run.app_url}/api/v1/openapi.json").status_code == 200
        browser = stack.enter_context(Browser.logged_in(run))
        assert browser.connect_connectwise(run)["state"] == "connected"
        checked = browser.call("POST", "/api/v1/connectwise/check-changes")
        assert checked["created"] == 12
        [green_lane] = [t for t in checked["tasks"] if t["customer"]["name"] == "Green Lane LLC"]
        assert (green_lane["orderNumber"], green_lane["orderType"]) == ("CH0000417", "change")
        assert green_lane["title"] == "Green Lane LLC 1000048531 — Change Order"
        browser.call(
            "POST",
            f"/api/v1/connectwise/tasks/{green_lane['id']}/sync",
            {"agreementId": GREEN_LANE_MANAGED},
        )
        page = record_page(run, GREEN_LANE_MANAGED)
        assert page.status_code == 200
        assert "Green Lane - Managed Cloud" in page.text
        assert f"[psasync task:{green_lane['id']}:" in page.text, "the synced additions show"

    with start_demo(data_dir=data_dir) as again, contextlib.ExitStack() as stack:
        assert again.replaced_database and again.database == run.database
        assert again.settings.secret_key != run.settings.secret_key
        browser = stack.enter_context(Browser.logged_in(again))
        tiles = browser.call("GET", "/api/v1/integrations")
        # Both PSAs' tiles (ConnectWise, Autotask), neither configured: an empty database.
        assert [tile["state"] for tile in tiles] == ["not_configured"] * 2, "an empty database"
        assert browser.call("GET", "/api/v1/connectwise/tasks")["total"] == 0
        browser.connect_connectwise(again)
        assert browser.call("POST", "/api/v1/connectwise/check-changes")["created"] == 12
        page = record_page(again, GREEN_LANE_MANAGED)
        assert "[psasync task:" not in page.text, "the sandbox starts from the fixture too"
    assert not Path(f"{again.database}-wal").exists(), "the app closed its database"


def test_the_agreement_page_shows_the_fixtures_additions_and_404s(data_dir: Path) -> None:
    with start_demo(data_dir=data_dir) as run:
        page = record_page(run, GREEN_LANE_MANAGED)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for shown in ("M365-BUS-STD", "BKP-CLOUD-500", "12.50", "Green Lane LLC", "Monthly"):
            assert shown in page.text
        assert record_page(run, 999_999).status_code == 404


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


def test_a_port_in_use_is_a_clear_error(data_dir: Path, taken_port: int) -> None:
    with (
        pytest.raises(demo.DemoError, match="did not start"),
        start_demo(data_dir=data_dir, port=taken_port),
    ):
        pytest.fail("the demo started on a port in use")


# The command ------------------------------------------------------------------------------------


def test_the_command_prints_what_to_open_and_stops_cleanly(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    answered: list[int] = []

    def browse_then_stop() -> None:
        answered.append(httpx.get(f"{base}/api/v1/openapi.json").status_code)

    monkeypatch.setattr(demo, "wait_for_stop", browse_then_stop)
    base = ""
    real_show = demo.show_demo

    def show(console: Any, run: DemoRun) -> None:
        nonlocal base
        base = run.app_url
        real_show(console, run)

    monkeypatch.setattr(demo, "show_demo", show)
    arguments = ["demo", "--port", "0", "--sandbox-port", "0", "--data-dir", str(data_dir)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert answered == [200]
    assert f"Open {base}/login and log in as a reseller:" in result.stdout
    assert "username demo@northwind-it.example, password northwind-demo" in result.stdout
    assert "Private key  demoPrivateKey01" in result.stdout
    assert "Ctrl+C stops it." in result.stdout
    assert result.stdout.rstrip().endswith("The demo has stopped.")


def test_a_missing_fixture_is_exit_code_2_with_a_clear_message(data_dir: Path) -> None:
    result = runner.invoke(app, ["demo", "--fixture", "/nonexistent", "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert "Cannot start the demo: cannot read fixture /nonexistent: No such file or directory" in (
        result.stderr
    )
    assert not data_dir.exists(), "nothing was made"


def test_an_unusable_data_directory_is_exit_code_2(tmp_path: Path) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("x")
    result = runner.invoke(app, ["demo", "--sandbox-port", "0", "--data-dir", str(taken)])
    assert result.exit_code == 2
    assert "cannot create the data directory" in result.stderr


def test_a_port_in_use_is_exit_code_1(data_dir: Path, taken_port: int) -> None:
    arguments = ["demo", "--port", "0", "--sandbox-port", str(taken_port)]
    result = runner.invoke(app, [*arguments, "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "Cannot start the demo" in result.stderr and "--sandbox-port" in result.stderr
