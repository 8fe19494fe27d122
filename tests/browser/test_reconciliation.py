"""The reconciliation page in a real browser, on the demo (its embedded worker runs the jobs):
open it, run a reconciliation and watch it finish, see the charts, filter by kind, fix an item
and see it marked fixed, download the CSV with the same filter."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from psasync.entrypoints.demo import DemoRun
from tests.browser.test_flow import connect_connectwise, log_in

RECONCILIATION = "/integrations/connectwise/reconciliation"
JOB_TIMEOUT_MS = 60_000


def set_integration_user(page: Page, demo: DemoRun) -> None:
    page.goto("/integrations/connectwise/automation")
    (user,) = demo.integration_users
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Check and save").click()
    expect(page.get_by_text("The integration user was checked")).to_be_visible()


def test_run_filter_fix_and_download_the_reconciliation(
    page: Page, demo: DemoRun, screenshots: Path
) -> None:
    log_in(page, demo)
    page.get_by_role("link", name="Manage ConnectWise PSA").click()
    connect_connectwise(page, demo)
    expect(page.get_by_text("ConnectWise is connected")).to_be_visible()
    set_integration_user(page, demo)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reconciliation").click()
    expect(page.get_by_role("heading", name="Reconciliation", exact=True)).to_be_visible()
    expect(page.locator("#no-report")).to_be_visible()

    # Run it: the page follows the job, then shows the report when it ends.
    page.get_by_role("button", name="Run reconciliation").click()
    expect(page.get_by_text("The reconciliation is queued")).to_be_visible()
    expect(page.locator("#run-status")).to_contain_text("Reconciliation #")
    expect(page.locator("#report-facts")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#run-status")).to_contain_text("items found")
    expect(page.locator("#report-facts")).to_contain_text("demo@northwind-it.example")

    # The charts are drawn, labelled, one bar per kind in the totals table.
    chart = page.get_by_role("img", name="Monthly impact by kind (USD)")
    expect(chart).to_be_visible()
    kinds = page.locator("#totals-by-kind tbody tr").count()
    assert kinds >= 6
    # One bar per kind with items (a kind billed only in CAD has its bar in the CAD chart).
    bars = chart.locator("rect.bar").count() + page.locator("#chart-kinds-cad rect.bar").count()
    assert kinds <= bars, (kinds, bars)
    top = page.get_by_role("img", name=re.compile(r"^Top \d+ customers by monthly impact \(USD\)"))
    expect(top).to_be_visible()
    expect(
        page.get_by_role("img", name=re.compile(r"^Total drift across .*\(USD\)"))
    ).to_be_visible()
    duplicate = page.locator("#totals-by-kind tr[data-kind='duplicate']")
    expect(duplicate).to_contain_text("over-billed by $30.00 a month")
    page.screenshot(path=str(screenshots / "reconciliation.png"), full_page=True)

    # Filter by kind: the address keeps it, and only that kind is listed.
    page.get_by_label("Kind", exact=True).select_option("duplicate")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"kind=duplicate"))
    rows = page.locator("#items tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-kind", "duplicate")
    expect(rows.first).to_contain_text("Ironwood")
    expect(rows.first.locator("td.fix")).to_contain_text("End addition #")

    # Fix it: the fix job runs, the item is marked fixed, the filter kept.
    rows.first.get_by_role("checkbox").check()
    expect(page.get_by_label(re.compile("From the next period start"))).to_be_checked()
    page.get_by_role("button", name="Fix selected").click()
    expect(page.get_by_text("The fix is queued")).to_be_visible()
    expect(page).to_have_url(re.compile(r"kind=duplicate"))
    expect(rows.first.locator(".fix-state")).to_have_text("Fixed", timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#run-status")).to_contain_text("1 fixed, 0 already fixed, 0 failed")
    expect(rows.first.get_by_role("checkbox")).to_have_count(0)

    # Download the CSV with the same filter.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    saved = download.value.path()
    assert download.value.suggested_filename == "reconciliation.csv"
    exported = list(csv.DictReader(io.StringIO(Path(saved).read_text(encoding="utf-8"))))
    assert [row["kind"] for row in exported] == ["duplicate"]
    assert exported[0]["fixed"], exported
