"""Real-browser tests: Playwright for Python driving Debian's chromium against the demo
(sandboxes + app on a fresh SQLite database), exactly as `psasync demo` runs it.

The test command installs chromium when it is missing (Makefile). Playwright's own browser
download is never used: the machines have no internet.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from psasync.entrypoints.demo import DemoRun, start_demo

CHROMIUM = os.environ.get("PSASYNC_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking switches chromium keeps calling home on a closed network.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 15_000


# Module scope, not session: Playwright's sync API keeps an event loop running on this thread
# while it is open, and the async tests that run after this folder need the thread to themselves.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"chromium is not installed at {CHROMIUM}: run the README's test command "
            "(`make test` installs Debian's chromium) or set PSASYNC_CHROMIUM."
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield launched
    launched.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoRun]:
    """A fresh demo per test: every test starts from the fixture's state."""
    with start_demo(data_dir=tmp_path / "demo") as run:
        yield run


@pytest.fixture
def page(browser: Browser, demo: DemoRun) -> Iterator[Page]:
    context = browser.new_context(
        base_url=demo.app_url, viewport={"width": 1440, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the flow's screenshots go: docs/ when PSASYNC_SCREENSHOTS names it, else a
    temporary folder (they are taken either way, so taking them is tested)."""
    chosen = os.environ.get("PSASYNC_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
