"""The seed's whole flow in a real browser, on the demo: log in, the ConnectWise tile, Manage,
the settings, Check Changes, the Green Lane Change Order, Sync Changes, the agreement, review
and edit, Sync, synced — and the bad paths a reseller runs into."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from psasync.entrypoints.demo import DemoRun

GREEN_LANE = "Green Lane LLC 1000048531 — Change Order"


def log_in(page: Page, demo: DemoRun, *, password: str | None = None) -> None:
    northwind = next(login for login in demo.logins if login.reseller == "Northwind IT")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Username").fill(northwind.username)
    page.get_by_label("Password").fill(password or northwind.password)
    page.get_by_role("button", name="Log in").click()


def connect_connectwise(page: Page, demo: DemoRun) -> None:
    (credentials,) = demo.connectwise
    page.get_by_label("Site URL").fill(credentials.site_url)
    page.get_by_label("Company ID").fill(credentials.company_id)
    page.get_by_label("Public key").fill(credentials.public_key)
    page.get_by_label("Private key").fill(credentials.private_key)
    page.get_by_label("Client ID").fill(credentials.client_id)
    page.get_by_role("button", name="Check and save").click()


def to_dashboard_with_tasks(page: Page, demo: DemoRun) -> None:
    log_in(page, demo)
    expect(page.get_by_role("heading", name="PSA Integrations")).to_be_visible()
    # Both PSA tiles start unconfigured (ConnectWise and Autotask).
    expect(page.get_by_text("Not configured")).to_have_count(2)
    page.get_by_role("link", name="Manage ConnectWise PSA").click()
    expect(page.get_by_role("heading", name="ConnectWise settings")).to_be_visible()
    connect_connectwise(page, demo)
    expect(page.get_by_text("ConnectWise is connected")).to_be_visible()
    # A slow marketplace: Check Changes shows that it is working, then what it found.
    slow = {"latency_ms": 150, "path_prefix": "/marketplace/"}
    httpx.put(f"{demo.sandbox_url}/_sandbox/faults", json=slow).raise_for_status()
    page.get_by_role("button", name="Check Changes").click()
    expect(page.get_by_text("Checking the Cloud Marketplace for new orders")).to_be_visible()
    expect(page.get_by_role("button", name="Check Changes")).to_be_disabled()
    expect(page.get_by_text("Found 12 new orders.")).to_be_visible()
    expect(page.get_by_text("Checking the Cloud Marketplace for new orders")).to_be_hidden()
    httpx.put(f"{demo.sandbox_url}/_sandbox/faults", json={}).raise_for_status()


def open_green_lane(page: Page) -> None:
    page.get_by_role("link", name=f"Sync Changes: {GREEN_LANE}").click()
    expect(page.get_by_role("heading", name=GREEN_LANE)).to_be_visible()


def test_the_seeds_flow_from_login_to_synced(page: Page, demo: DemoRun, screenshots: Path) -> None:
    to_dashboard_with_tasks(page, demo)
    tasks = page.locator("#tasks")
    expect(tasks.get_by_role("row", name=re.compile("Green Lane LLC"))).to_contain_text("CH0000417")
    expect(tasks.get_by_role("row", name=re.compile("CH0000417"))).to_contain_text("Change Order")
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)

    open_green_lane(page)
    # The one agreement that can take the change is chosen; the others say why not.
    expect(page.get_by_role("radio", name=re.compile("Green Lane - Managed Cloud"))).to_be_checked()
    yearly = page.locator("li.ineligible").filter(has_text="#1202")
    expect(yearly.get_by_role("radio")).to_be_disabled()
    expect(yearly.locator("ul.reasons")).to_contain_text("The agreement bills Yearly")
    expect(page.locator("#prorated-amount")).to_have_text("$16.66")
    expect(page.locator("#recurring-amount")).to_have_text("$157.00 → $182.00")

    # The price source switch re-computes the preview, and back.
    page.get_by_label("ConnectWise Catalog").check()
    expect(page.locator("#prorated-amount")).to_have_text("$0.00")
    page.get_by_label("Cloud Marketplace").check()
    expect(page.locator("#prorated-amount")).to_have_text("$16.66")

    # Edit the new recurring addition's description; Recalculate keeps it.
    description = page.get_by_label(re.compile(r"^Description, create recurring"))
    description.fill("Microsoft 365 Business Standard (12 seats)")
    page.get_by_role("button", name="Recalculate").click()
    expect(page.get_by_label(re.compile(r"^Description, create recurring"))).to_have_value(
        "Microsoft 365 Business Standard (12 seats)"
    )
    page.screenshot(path=str(screenshots / "wizard.png"), full_page=True)

    page.get_by_role("button", name="Sync", exact=True).click()
    expect(page.get_by_text("Sync these changes to Green Lane - Managed Cloud?")).to_be_visible()
    page.get_by_role("button", name="Confirm Sync").click()
    expect(page.get_by_text("Sync finished")).to_be_visible()
    link = page.get_by_role("link", name=re.compile("Green Lane - Managed Cloud .* in ConnectWise"))
    href = link.first.get_attribute("href") or ""
    assert "openrecord.rails" in href and "recid=1201" in href

    # The agreement in ConnectWise has the edited addition.
    page.goto(href)
    expect(page.get_by_text("Microsoft 365 Business Standard (12 seats)")).to_be_visible()

    page.goto("/integrations/connectwise?q=CH0000417")
    expect(page.locator("#tasks").get_by_role("row", name=re.compile("CH0000417"))).to_contain_text(
        "Synced"
    )
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("row", name=re.compile(GREEN_LANE))).to_contain_text("Succeeded")
    for name in ("dashboard.png", "wizard.png"):
        assert (screenshots / name).stat().st_size > 10_000


def test_a_wrong_password_says_so_and_keeps_the_username(page: Page, demo: DemoRun) -> None:
    log_in(page, demo, password="not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("did not accept this username and password")
    expect(page.get_by_label("Username")).to_have_value("demo@northwind-it.example")
    expect(page.get_by_label("Password")).to_be_focused()


def test_an_ineligible_agreement_cannot_be_chosen_or_forced(page: Page, demo: DemoRun) -> None:
    to_dashboard_with_tasks(page, demo)
    open_green_lane(page)
    for agreement, reason in (("#1202", "bills Yearly"), ("#1203", "CAD")):
        choice = page.locator("li.ineligible").filter(has_text=agreement)
        expect(choice.get_by_role("radio")).to_be_disabled()
        expect(choice).to_contain_text(reason)
    page.goto(page.url.split("?")[0] + "?agreement=1202")
    expect(page.get_by_role("alert")).to_contain_text("cannot take these changes")
    expect(page.get_by_role("button", name="Sync", exact=True)).to_have_count(0)


def test_an_invalid_edit_is_marked_inline_and_nothing_is_written(page: Page, demo: DemoRun) -> None:
    to_dashboard_with_tasks(page, demo)
    open_green_lane(page)
    quantity = page.get_by_label(re.compile(r"^Quantity, create recurring"))
    quantity.fill("twelve")
    page.get_by_role("button", name="Sync", exact=True).click()
    quantity = page.get_by_label(re.compile(r"^Quantity, create recurring"))
    expect(quantity).to_have_attribute("aria-invalid", "true")
    expect(quantity).to_have_value("twelve")
    expect(
        page.get_by_text("Enter a number in plain notation, such as 12 or 12.50.")
    ).to_be_visible()
    expect(page.get_by_text("Sync these changes")).to_have_count(0)

    # A value the billing rules refuse comes back next to its field too.
    quantity.fill("0")
    page.get_by_role("button", name="Recalculate").click()
    expect(page.get_by_text("The quantity cannot be zero.")).to_be_visible()

    page.goto("/integrations/connectwise?q=CH0000417")
    expect(page.locator("#tasks").get_by_role("row", name=re.compile("CH0000417"))).to_contain_text(
        "New"
    )
