"""The demo's pure parts: the first Check Changes' reach, the settings and logins from a fixture,
the fresh database, what it prints and how it waits."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from rich.console import Console

from psasync.config import Settings
from psasync.entrypoints.demo import (
    DATABASE_NAME,
    MAX_LOOKBACK_DAYS,
    WINDOW_DAYS,
    ConnectWiseCredentials,
    DataDirError,
    DemoLogin,
    DemoRun,
    autotask_credentials,
    connectwise_credentials,
    demo_logins,
    demo_settings,
    fresh_database,
    lookback_days,
    newest_order_date,
    reachable_url,
    show_demo,
    wait_for_stop,
)
from psasync.sandbox.fixture import DEMO_FIXTURE, FixtureError, SandboxFixture, load_fixture

NEWEST = dt.date(2026, 11, 23)  # the demo fixture's newest order (CH0000420… SO0000394)
SANDBOX = "http://127.0.0.1:8001"
DAYS = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31))


@pytest.fixture(scope="module")
def fixture() -> SandboxFixture:
    return load_fixture(DEMO_FIXTURE)


def with_orders(fixture: SandboxFixture, orders: list[object]) -> SandboxFixture:
    marketplace = fixture.marketplace.model_copy(update={"orders": orders})
    return fixture.model_copy(update={"marketplace": marketplace})


# How far back the first Check Changes looks ---------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (NEWEST, 31),
        (NEWEST + dt.timedelta(days=1), 32),
        (dt.date(2027, 3, 1), 31 + 98),
        (NEWEST - dt.timedelta(days=1), 31),
        (dt.date(2020, 1, 1), 31),
        (NEWEST + dt.timedelta(days=3660 - 31), 3660),
        (NEWEST + dt.timedelta(days=3660 - 30), 3660),
        (dt.date(2200, 1, 1), 3660),
    ],
    ids=["same-day", "next-day", "months-later", "day-before", "years-before", "at-cap", "past-cap",
         "far-future"],
)  # fmt: skip
def test_the_window_is_anchored_at_the_newest_order(today: dt.date, expected: int) -> None:
    assert lookback_days(newest_order=NEWEST, today=today) == expected


def test_without_orders_the_usual_window_is_used() -> None:
    assert lookback_days(newest_order=None, today=NEWEST) == WINDOW_DAYS == 31


def test_the_cap_is_the_largest_lookback_settings_accept() -> None:
    assert MAX_LOOKBACK_DAYS == 3660
    assert Settings.model_validate({"check_lookback_days": MAX_LOOKBACK_DAYS})
    with pytest.raises(ValidationError):
        Settings.model_validate({"check_lookback_days": MAX_LOOKBACK_DAYS + 1})


@given(newest=DAYS, today=DAYS)
def test_the_lookback_is_always_a_valid_setting(newest: dt.date, today: dt.date) -> None:
    days = lookback_days(newest_order=newest, today=today)
    assert WINDOW_DAYS <= days <= MAX_LOOKBACK_DAYS
    Settings.model_validate({"check_lookback_days": days})


@given(newest=DAYS, today=DAYS)
def test_the_window_reaches_a_month_before_the_newest_order(
    newest: dt.date, today: dt.date
) -> None:
    days = lookback_days(newest_order=newest, today=today)
    reaches_back_to = today - dt.timedelta(days=days)
    if today < newest:
        assert days == WINDOW_DAYS, "orders after today are not listed; the usual window"
    elif days < MAX_LOOKBACK_DAYS:
        assert reaches_back_to == newest - dt.timedelta(days=WINDOW_DAYS)
    else:
        assert reaches_back_to >= newest - dt.timedelta(days=WINDOW_DAYS), "capped"


@given(newest=DAYS, today=DAYS, later=st.integers(min_value=0, max_value=5000))
def test_a_later_day_never_looks_back_less_far(newest: dt.date, today: dt.date, later: int) -> None:
    if today + dt.timedelta(days=later) > dt.date.max - dt.timedelta(days=1):
        return
    before = lookback_days(newest_order=newest, today=today)
    after = lookback_days(newest_order=newest, today=today + dt.timedelta(days=later))
    assert before <= after


def test_the_newest_order_is_read_from_the_fixture_in_utc(fixture: SandboxFixture) -> None:
    assert newest_order_date(fixture) == NEWEST
    assert newest_order_date(with_orders(fixture, [])) is None
    late = fixture.marketplace.orders[0].model_copy(
        update={
            "creation_date": dt.datetime(
                2026, 12, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))
            )
        }
    )
    assert newest_order_date(with_orders(fixture, [late])) == dt.date(2027, 1, 1)


# Settings, logins and credentials from the fixture ----------------------------------------------


def test_the_settings_come_from_the_fixture_not_the_environment(
    fixture: SandboxFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PSASYNC_MARKETPLACES", "not json")
    monkeypatch.setenv("PSASYNC_DATABASE_URL", "postgresql://elsewhere/db")
    monkeypatch.setenv("PSASYNC_CHECK_LOOKBACK_DAYS", "0")
    database = tmp_path / DATABASE_NAME
    settings = demo_settings(
        fixture,
        sandbox_url=SANDBOX,
        database=database,
        today=dt.date(2026, 11, 24),
        secret_key="demo-secret",
    )
    assert settings.database_url == f"sqlite+aiosqlite:///{database}"
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "demo-secret"
    assert settings.check_lookback_days == 32
    [marketplace] = settings.marketplaces
    assert (marketplace.code, marketplace.name) == ("us", "Cloud Marketplace US")
    assert str(marketplace.url) == f"{SANDBOX}/marketplace/us"
    assert marketplace.subscription_key.get_secret_value() == "demo-us-gateway-key"


def test_the_lookback_follows_the_fixture_and_the_day(fixture: SandboxFixture) -> None:
    def lookback(today: dt.date, chosen: SandboxFixture = fixture) -> int:
        settings = demo_settings(
            chosen, sandbox_url=SANDBOX, database=Path("/d.db"), today=today, secret_key="k"
        )
        return settings.check_lookback_days

    assert lookback(dt.date(2026, 11, 23)) == 31
    assert lookback(dt.date(2031, 11, 23)) == 31 + 1826
    assert lookback(dt.date(2099, 1, 1)) == 3660
    assert lookback(dt.date(2031, 11, 23), with_orders(fixture, [])) == 31


def test_a_marketplace_the_settings_refuse_is_a_fixture_error(fixture: SandboxFixture) -> None:
    [us] = fixture.marketplace.marketplaces
    marketplace = fixture.marketplace.model_copy(
        update={"marketplaces": [us.model_copy(update={"name": "M" * 101})]}
    )
    odd = fixture.model_copy(update={"marketplace": marketplace})
    with pytest.raises(FixtureError, match="marketplaces"):
        demo_settings(
            odd, sandbox_url=SANDBOX, database=Path("/d.db"), today=NEWEST, secret_key="k"
        )


def test_every_reseller_user_is_a_demo_login(fixture: SandboxFixture) -> None:
    assert demo_logins(fixture) == (
        DemoLogin("us", "Cloud Marketplace US", "Northwind IT", "demo@northwind-it.example",
                  "northwind-demo"),
        DemoLogin("us", "Cloud Marketplace US", "Contoso Cloud Partners",
                  "ops@contoso-cloud.example", "contoso-demo"),
        DemoLogin("us", "Cloud Marketplace US", "Fabrikam Managed Services",
                  "demo@fabrikam-msp.example", "fabrikam-demo"),
    )  # fmt: skip
    assert "northwind-demo" not in repr(demo_logins(fixture))


def test_the_connectwise_credentials_are_on_the_sandbox(fixture: SandboxFixture) -> None:
    [credentials] = connectwise_credentials(fixture, site_url=SANDBOX)
    assert credentials == ConnectWiseCredentials(
        site_url=SANDBOX,
        company_id="northwind",
        public_key="demoPublicKey01",
        private_key="demoPrivateKey01",
        client_id="5b1c2a6e-3f4d-4e8a-9c1b-7d2e6f8a9b0c",
    )
    assert "demoPrivateKey01" not in repr(credentials)


@pytest.mark.parametrize(
    ("url", "reachable"),
    [
        ("http://0.0.0.0:8000", "http://127.0.0.1:8000"),
        ("http://[::]:8001", "http://[::1]:8001"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://192.168.1.5:8000", "http://192.168.1.5:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_listen_everywhere_addresses_are_shown_as_the_loopback(url: str, reachable: str) -> None:
    assert reachable_url(url) == reachable


# The fresh database -----------------------------------------------------------------------------


def test_a_fresh_data_directory_is_made(tmp_path: Path) -> None:
    database, replaced = fresh_database(tmp_path / "a" / "b")
    assert (database, replaced) == (tmp_path / "a" / "b" / DATABASE_NAME, False)
    assert database.parent.is_dir() and not database.exists()


def test_the_previous_database_and_its_journals_are_removed(tmp_path: Path) -> None:
    files = [tmp_path / f"{DATABASE_NAME}{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
    for path in files:
        path.write_text("old")
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    database, replaced = fresh_database(tmp_path)
    assert replaced
    assert not any(path.exists() for path in files)
    assert keep.read_text() == "mine"
    assert fresh_database(tmp_path) == (database, False)


def test_a_data_directory_that_is_a_file_is_refused(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("x")
    with pytest.raises(DataDirError, match="cannot create the data directory"):
        fresh_database(taken)


# What it prints -----------------------------------------------------------------------------------


def run(fixture: SandboxFixture, *, replaced: bool) -> DemoRun:
    database = Path("/srv/psasync-demo") / DATABASE_NAME
    settings = demo_settings(
        fixture, sandbox_url=SANDBOX, database=database, today=NEWEST, secret_key="k"
    )
    return DemoRun(
        app_url="http://127.0.0.1:8000",
        sandbox_url=SANDBOX,
        database=database,
        replaced_database=replaced,
        settings=settings,
        logins=demo_logins(fixture),
        connectwise=connectwise_credentials(fixture, site_url=SANDBOX),
    )


def printed(demo: DemoRun) -> list[str]:
    out = io.StringIO()
    show_demo(Console(file=out, width=40, color_system=None), demo)
    return out.getvalue().splitlines()


def test_it_prints_the_url_the_logins_and_the_connectwise_settings(
    fixture: SandboxFixture,
) -> None:
    lines = printed(run(fixture, replaced=False))
    assert "Open http://127.0.0.1:8000/login and log in as a reseller:" in lines
    assert (
        "  Northwind IT on Cloud Marketplace US: username demo@northwind-it.example, "
        "password northwind-demo"
    ) in lines, "long lines are not wrapped: they are copied from the terminal"
    settings = lines[lines.index("Then, under ConnectWise settings, enter:") + 1 :][:5]
    assert settings == [
        "  Site URL     http://127.0.0.1:8001",
        "  Company ID   northwind",
        "  Public key   demoPublicKey01",
        "  Private key  demoPrivateKey01",
        "  Client ID    5b1c2a6e-3f4d-4e8a-9c1b-7d2e6f8a9b0c",
    ]
    assert "Cloud Marketplace US sandbox: http://127.0.0.1:8001/marketplace/us" in lines
    assert lines[-1] == "Ctrl+C stops it."
    assert not any("Removed" in line for line in lines)


def test_it_says_when_it_removed_the_previous_database(fixture: SandboxFixture) -> None:
    first = printed(run(fixture, replaced=True))[0]
    assert first.startswith("Removed the previous demo database /srv/psasync-demo/psasync-demo.db")


def test_markup_in_the_fixture_is_printed_as_it_is(fixture: SandboxFixture) -> None:
    demo = run(fixture, replaced=False)
    odd = DemoLogin("us", "[bold]US[/bold]", "R [red]", "[user]", "pa[ss]")
    lines = printed(DemoRun(**{**demo.__dict__, "logins": (odd,)}))
    assert "  R [red] on [bold]US[/bold]: username [user], password pa[ss]" in lines


# Waiting for Ctrl+C or SIGTERM ------------------------------------------------------------------


def test_it_waits_until_told_to_stop() -> None:
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    started = time.monotonic()
    wait_for_stop(stop=stop)
    assert time.monotonic() - started < 5


def test_sigterm_stops_the_wait_and_the_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    def terminate_once_waiting() -> None:
        deadline = time.monotonic() + 5
        while signal.getsignal(signal.SIGTERM) == before[0] and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_once_waiting, daemon=True).start()
    wait_for_stop()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_the_autotask_settings_are_those_of_the_reseller_on_autotask(
    fixture: SandboxFixture,
) -> None:
    [credentials] = autotask_credentials(fixture)
    assert credentials.reseller == "Fabrikam Managed Services"
    assert credentials.username == "psasync-api@fabrikam-msp.example"
    assert credentials.secret == "demo-Autotask-Secret-2"
    assert credentials.integration_code == "DEMO-PSASYNC-FABRIKAM"
    assert "demo-Autotask-Secret-2" not in repr(credentials)
