import json

import pytest
from pydantic import ValidationError

from psasync.config import DEFAULT_DATABASE_URL, Settings

US = {
    "code": "us",
    "name": "Cloud Marketplace US",
    "url": "https://mp.example.test/marketplace/us",
    "subscriptionKey": "k-us",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "SECRET_KEY", "MARKETPLACES", "CHECK_LOOKBACK_DAYS"):
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
