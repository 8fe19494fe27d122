"""Automation in a real browser, on the demo (its embedded worker runs the jobs): switch it on —
the integration user the demo printed, the auto-sync policy — run it now, and see the tasks it
auto-synced and the ones waiting for review with their reasons."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from psasync.entrypoints.demo import DemoRun
from tests.browser.test_flow import connect_connectwise, log_in

AUTOMATION = "/integrations/connectwise/automation"
RUN_TIMEOUT_S = 60


def test_switch_automation_on_run_it_and_see_synced_and_waiting_tasks(
    page: Page, demo: DemoRun, screenshots: Path
) -> None:
    log_in(page, demo)
    page.get_by_role("link", name="Manage ConnectWise PSA").click()
    connect_connectwise(page, demo)
    expect(page.get_by_text("ConnectWise is connected")).to_be_visible()

    page.goto(AUTOMATION)
    expect(page.get_by_role("heading", name="Automation", exact=True)).to_be_visible()
    expect(page.locator("#why-nothing-runs")).to_contain_text("Nothing runs unattended")
    expect(page.get_by_role("button", name="Run now")).to_be_disabled()

    (user,) = demo.integration_users
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Check and save").click()
    expect(page.get_by_text("The integration user was checked")).to_be_visible()
    expect(page.locator("#integration-user")).to_contain_text(user.username)

    for label in ("Sales Orders", "Change Orders", "Billing Orders"):
        page.get_by_label(label).check()
    page.get_by_label("Largest total per task").fill("500")
    page.get_by_label("Run", exact=True).select_option("15m")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("The automation settings are saved.")).to_be_visible()
    expect(page.locator("#next-run")).to_contain_text("every 15 minutes")

    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_text("The unattended run is queued")).to_be_visible()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while "auto-synced" not in (page.locator("#last-run").text_content() or ""):
        assert time.monotonic() < deadline, page.locator("#last-run").text_content()
        time.sleep(0.5)
        page.reload()
    expect(page.locator("#last-run")).to_contain_text("succeeded")
    expect(page.locator("#last-run")).to_contain_text(re.compile(r"\d+ auto-synced"))
    page.screenshot(path=str(screenshots / "automation.png"), full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.locator("#automation-status")).to_contain_text("Last unattended run")
    expect(page.locator("#automation-status")).to_contain_text("Next scheduled check")
    tasks = page.locator("table.tasks")
    expect(tasks.get_by_text("Synced").first).to_be_visible()
    expect(tasks.get_by_text("Waiting for review: credit of −$33.00 needs review")).to_be_visible()
    expect(tasks.get_by_text("Waiting for review: no eligible agreement").first).to_be_visible()
    page.screenshot(path=str(screenshots / "automation-dashboard.png"), full_page=True)

    waiting = tasks.locator("tr", has_text="credit of −$33.00 needs review")
    waiting.get_by_role("link").first.click()
    expect(page.locator("#waiting-reason")).to_have_text(
        "Auto-sync left this task for you: credit of −$33.00 needs review."
    )
