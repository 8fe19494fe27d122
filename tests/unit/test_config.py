import json

import pytest
from pydantic import ValidationError

from psasync.config import (
    DEFAULT_DATABASE_URL,
    DEFAULT_MAIL_FROM,
    SecretUrl,
    Settings,
    hide_url_password,
)

US = {
    "code": "us",
    "name": "Cloud Marketplace US",
    "url": "https://mp.example.test/marketplace/us",
    "subscriptionKey": "k-us",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "SECRET_KEY",
        "MARKETPLACES",
        "CHECK_LOOKBACK_DAYS",
        "SYNC_LEASE_SECONDS",
        "UNKNOWN_OUTCOME_QUIET_SECONDS",
        "SMTP_URL",
        "MAIL_FROM",
        "BASE_URL",
    ):
        monkeypatch.delenv(f"PSASYNC_{name}", raising=False)


def test_defaults_need_no_environment() -> None:
    settings = Settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.secret_key is None
    assert settings.marketplaces == []
    assert settings.check_lookback_days == 31


def test_marketplaces_are_read_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    eu = {**US, "code": "eu", "name": "Cloud Marketplace EU", "subscriptionKey": "k-eu"}
    monkeypatch.setenv("PSASYNC_MARKETPLACES", json.dumps([US, eu]))
    monkeypatch.setenv("PSASYNC_SECRET_KEY", "not-a-real-secret")
    monkeypatch.setenv("PSASYNC_CHECK_LOOKBACK_DAYS", "7")
    settings = Settings()
    assert [m.code for m in settings.marketplaces] == ["us", "eu"]
    us = settings.marketplace("us")
    assert us is not None and us.subscription_key.get_secret_value() == "k-us"
    assert "k-us" not in repr(us)
    assert settings.marketplace("apac") is None
    assert settings.check_lookback_days == 7


def test_repeated_marketplace_codes_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSASYNC_MARKETPLACES", json.dumps([US, US]))
    with pytest.raises(ValidationError, match="repeated: us"):
        Settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MARKETPLACES", "not json"),
        ("MARKETPLACES", json.dumps([{**US, "url": "not a url"}])),
        ("MARKETPLACES", json.dumps([{**US, "code": "US West"}])),
        ("MARKETPLACES", json.dumps([{**US, "extra": 1}])),
        ("CHECK_LOOKBACK_DAYS", "0"),
    ],
)
def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(f"PSASYNC_{name}", value)
    with pytest.raises((ValidationError, ValueError)):
        Settings()


def test_sync_lease_and_unknown_outcome_quiet_period_have_bounded_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings()
    assert (settings.sync_lease_seconds, settings.unknown_outcome_quiet_seconds) == (300, 75)
    monkeypatch.setenv("PSASYNC_SYNC_LEASE_SECONDS", "30")
    monkeypatch.setenv("PSASYNC_UNKNOWN_OUTCOME_QUIET_SECONDS", "0")
    settings = Settings()
    assert (settings.sync_lease_seconds, settings.unknown_outcome_quiet_seconds) == (30, 0)
    for name, bad in [
        ("SYNC_LEASE_SECONDS", "0"),
        ("SYNC_LEASE_SECONDS", "86401"),
        ("UNKNOWN_OUTCOME_QUIET_SECONDS", "-1"),
        ("UNKNOWN_OUTCOME_QUIET_SECONDS", "3601"),
    ]:
        monkeypatch.setenv(f"PSASYNC_{name}", bad)
        with pytest.raises(ValidationError):
            Settings()
        monkeypatch.delenv(f"PSASYNC_{name}")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://user:s3cret@db.example/psasync", "postgresql://user:***@db.example/psasync"),
        ("postgresql+psycopg://u:p@ss:w@rd@h:5432/d", "postgresql+psycopg://u:***@h:5432/d"),
        (
            "smtp://mailer:hunter2@smtp.example:587?starttls=1",
            "smtp://mailer:***@smtp.example:587?starttls=1",
        ),
        (
            "postgresql://u@h/d?password=hunter2&sslmode=require",
            "postgresql://u@h/d?password=***&sslmode=require",
        ),
        ("smtp://127.0.0.1:8025", "smtp://127.0.0.1:8025"),
        ("sqlite+aiosqlite:///./psasync.db", "sqlite+aiosqlite:///./psasync.db"),
    ],
)
def test_passwords_inside_urls_are_hidden(url: str, shown: str) -> None:
    assert hide_url_password(url) == shown


def test_the_settings_repr_hides_the_database_password() -> None:
    settings = Settings(database_url="postgresql://user:s3cret@db.example/psasync")
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings)
    assert "user:***@db.example" in repr(settings)


# Notifications: the mail server, the sender, psasync's own address ------------------------------

SMTP_URL = "smtp://mailer:hunter2@smtp.example.com:587?starttls=1"


def test_notifications_need_no_settings() -> None:
    settings = Settings()
    assert settings.smtp_url is None
    assert settings.mail_from == DEFAULT_MAIL_FROM == "psasync <psasync@localhost>"
    assert settings.base_url is None


def test_notification_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSASYNC_SMTP_URL", SMTP_URL)
    monkeypatch.setenv("PSASYNC_MAIL_FROM", " Northwind psasync <psasync@northwind.example> ")
    monkeypatch.setenv("PSASYNC_BASE_URL", "https://psasync.northwind.example/ ")
    settings = Settings()
    assert isinstance(settings.smtp_url, SecretUrl)
    assert settings.smtp_url.get_secret_value() == SMTP_URL
    assert settings.mail_from == "Northwind psasync <psasync@northwind.example>"
    assert settings.base_url == "https://psasync.northwind.example"


def test_a_blank_smtp_url_or_base_url_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSASYNC_SMTP_URL", "  ")
    monkeypatch.setenv("PSASYNC_BASE_URL", "")
    settings = Settings()
    assert (settings.smtp_url, settings.base_url) == (None, None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAIL_FROM", "psasync"),
        ("MAIL_FROM", "psasync <ps@x.example>\nBcc: victim@x.example"),
        ("BASE_URL", "psasync.example.com"),
        ("BASE_URL", "ftp://psasync.example.com"),
        ("BASE_URL", "https://psasync.example.com/?next=1"),
        ("BASE_URL", "https://user:pw@psasync.example.com"),
    ],
)
def test_bad_notification_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"PSASYNC_{name}", value)
    with pytest.raises(ValidationError, match=name.lower()):
        Settings()


def test_the_smtp_url_shows_everything_but_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSASYNC_SMTP_URL", SMTP_URL)
    settings = Settings()
    shown = "smtp://mailer:***@smtp.example.com:587?starttls=1"
    assert settings.smtp_url is not None
    assert str(settings.smtp_url) == shown
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    assert shown in repr(settings)
    assert settings.model_dump(mode="json")["smtp_url"] == shown
    assert "hunter2" not in settings.model_dump_json()


def test_psasync_config_shows_the_smtp_url_with_only_its_password_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from psasync.entrypoints.cli import app

    monkeypatch.setenv("PSASYNC_SMTP_URL", SMTP_URL)
    monkeypatch.setenv("PSASYNC_BASE_URL", "https://psasync.northwind.example")
    monkeypatch.setenv("COLUMNS", "200")  # Rich's table would cut a long value short
    result = CliRunner().invoke(app, ["config"], terminal_width=200)
    assert result.exit_code == 0, result.stdout
    assert "hunter2" not in result.stdout
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in result.stdout.splitlines()
        if line.count("│") == 3
    }
    assert rows["smtp_url"] == "smtp://mailer:***@smtp.example.com:587?starttls=1"
    assert rows["mail_from"] == DEFAULT_MAIL_FROM
    assert rows["base_url"] == "https://psasync.northwind.example"
