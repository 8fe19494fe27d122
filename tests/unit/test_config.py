import json

import pytest
from pydantic import ValidationError

from psasync.config import DEFAULT_DATABASE_URL, Settings, hide_url_password

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
