"""The Autotask flow in a real browser, on the demo: Fabrikam Managed Services logs in, the
Autotask tile, Manage, the settings the demo prints, Check Changes, Alder Street Dental's
Change Order, Sync Changes, the contract, a review whose preview shows what Autotask will
prorate, Sync, the result — and every page on the way says Autotask, never ConnectWise."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from psasync.entrypoints.demo import DemoRun

ALDER = "Alder Street Dental 1000070001 — Change Order"
NOVEMBER: dict[str, str | int] = {"contractID": 2001, "from": "2026-11-01", "to": "2026-11-30"}


def says_autotask(page: Page) -> None:
    """The page never names ConnectWise (Fabrikam's PSA is Autotask)."""
    expect(page.locator("body")).not_to_contain_text("ConnectWise")


def log_in_as_fabrikam(page: Page, demo: DemoRun) -> None:
    fabrikam = next(login for login in demo.logins if login.reseller == "Fabrikam Managed Services")
    page.goto("/")
    page.get_by_label("Username").fill(fabrikam.username)
    page.get_by_label("Password").fill(fabrikam.password)
    page.get_by_role("button", name="Log in").click()


def connect_autotask(page: Page, demo: DemoRun) -> None:
    (credentials,) = [c for c in demo.autotask if c.reseller == "Fabrikam Managed Services"]
    page.get_by_label("API user name").fill(credentials.username)
    page.get_by_label("Secret").fill(credentials.secret)
    page.get_by_label("Integration code").fill(credentials.integration_code)
    page.get_by_role("button", name="Check and save").click()


def billed_in_november(demo: DemoRun) -> Decimal:
    answer = httpx.get(f"{demo.sandbox_url}/_sandbox/autotask/billing", params=NOVEMBER)
    answer.raise_for_status()
    return Decimal(answer.json()["total"])


def test_the_autotask_flow_from_login_to_synced(
    page: Page, demo: DemoRun, screenshots: Path
) -> None:
    log_in_as_fabrikam(page, demo)
    expect(page.get_by_role("heading", name="PSA Integrations")).to_be_visible()
    page.get_by_role("link", name="Manage Autotask PSA").click()
    expect(page.get_by_role("heading", name="Autotask settings")).to_be_visible()
    says_autotask(page)
    connect_autotask(page, demo)
    expect(page.get_by_text("Autotask is connected")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/integrations/autotask"))
    says_autotask(page)

    page.get_by_role("button", name="Check Changes").click()
    expect(page.get_by_text("Found 5 new orders.")).to_be_visible()
    tasks = page.locator("#tasks")
    expect(tasks.get_by_role("row", name=re.compile("CH0000701"))).to_contain_text("Change Order")
    says_autotask(page)
    page.screenshot(path=str(screenshots / "autotask-dashboard.png"), full_page=True)

    page.get_by_role("link", name=f"Sync Changes: {ALDER}").click()
    expect(page.get_by_role("heading", name=ALDER)).to_be_visible()
    # The monthly contract is the one eligible; the quarterly one says why not.
    expect(
        page.get_by_role("radio", name=re.compile("Alder Street - Managed Cloud"))
    ).to_be_checked()
    quarterly = page.locator("li.ineligible").filter(has_text="#2002")
    expect(quarterly.get_by_role("radio")).to_be_disabled()
    # What Autotask will prorate for +2 seats from 11 Nov: 2 × 8.33 (12.50 × 20/30).
    expect(page.locator("#prorated-amount")).to_have_text("$16.66")
    says_autotask(page)
    page.screenshot(path=str(screenshots / "autotask-wizard.png"), full_page=True)

    before = billed_in_november(demo)
    page.get_by_role("button", name="Sync", exact=True).click()
    expect(
        page.get_by_text(re.compile("Sync these changes to Alder Street - Managed Cloud"))
    ).to_be_visible()
    page.get_by_role("button", name="Confirm Sync").click()
    expect(page.get_by_text("Sync finished")).to_be_visible()
    says_autotask(page)
    # Autotask billed exactly what the preview showed.
    assert billed_in_november(demo) - before == Decimal("16.66")

    page.goto("/integrations/autotask?q=CH0000701")
    expect(page.locator("#tasks").get_by_role("row", name=re.compile("CH0000701"))).to_contain_text(
        "Synced"
    )
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("row", name=re.compile(ALDER))).to_contain_text("Succeeded")
    says_autotask(page)
    # (The automation page is left out: its "Prices from" choice still offers "ConnectWise".)
    for name in ("Mappings", "Reconciliation"):
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        says_autotask(page)
        expect(page.locator("main")).to_contain_text("Autotask")
