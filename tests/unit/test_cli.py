import json

import pytest
from typer.testing import CliRunner

from psasync import __version__
from psasync.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "SECRET_KEY", "MARKETPLACES", "CHECK_LOOKBACK_DAYS"):
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
