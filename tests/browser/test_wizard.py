"""The Sync Changes wizard in a real browser, on the demo (issue 17): what the confirm box
says is what ConnectWise gets, lines can be left out, totals include one-time charges, a
part-failed sync has one way to finish, the price switch keeps edits, dead ends say what to
do, the review fits a laptop, one number rule, and a re-login keeps the review."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from psasync.adapters.connectwise import ConnectWiseSite
from psasync.adapters.connectwise.keys import read_marked_key
from psasync.entrypoints.demo import DemoRun
from tests.browser.test_flow import GREEN_LANE, open_green_lane, to_dashboard_with_tasks

RECURRING = re.compile(r"^Quantity, create recurring")


def _open(page: Page, customer: str) -> None:
    page.get_by_role("link", name=re.compile(f"^Sync Changes: {customer}")).click()
    expect(page.get_by_role("heading", name=re.compile(customer))).to_be_visible()


def test_an_edit_after_sync_cannot_be_lost(page: Page, demo: DemoRun) -> None:
    to_dashboard_with_tasks(page, demo)
    open_green_lane(page)
    page.get_by_role("button", name="Sync", exact=True).click()
    expect(page.locator("#confirm")).to_contain_text("12 × 12.50 USD")
    # While confirming, nothing can be typed: the table is read-only.
    expect(page.get_by_label(RECURRING)).to_have_count(0)
    page.get_by_role("button", name="Change something").click()
    page.get_by_label(RECURRING).fill("20")
    page.get_by_role("button", name="Sync", exact=True).click()
    expect(page.locator("#confirm")).to_contain_text("20 × 12.50 USD")
    page.get_by_role("button", name="Confirm Sync").click()
    expect(page.get_by_text("Sync finished")).to_be_visible()
    expect(page.locator("table.run-actions")).to_contain_text("20 × $12.50")


def test_a_line_left_out_is_shown_on_the_result_and_in_the_history(
    page: Page, demo: DemoRun
) -> None:
    to_dashboard_with_tasks(page, demo)
    open_green_lane(page)
    page.get_by_label(re.compile(r"^Sync this line: create prorate")).uncheck()
    page.get_by_role("button", name="Recalculate").click()
    expect(page.locator("#billed-amount")).to_have_text("$0.00")
    page.get_by_role("button", name="Sync", exact=True).click()
    expect(page.locator("#confirm")).to_contain_text("1 left out")
    page.get_by_role("button", name="Confirm Sync").click()
    expect(page.get_by_role("heading", name="Synced with exclusions")).to_be_visible()
    expect(page.locator("tr.outcome-skipped")).to_contain_text("Left out")
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("row", name=re.compile(GREEN_LANE))).to_contain_text("1 left out")
    page.goto("/integrations/connectwise?status=synced")
    expect(page.get_by_role("row", name=re.compile(GREEN_LANE))).to_contain_text(
        "Synced with exclusions"
    )


def test_billed_this_period_includes_one_time_charges(page: Page, demo: DemoRun) -> None:
    to_dashboard_with_tasks(page, demo)
    _open(page, "Summit Physical Therapy")
    expect(page.locator("#billed-amount")).to_have_text("$42.01")
    expect(page.locator("#one-time-amount")).to_have_text("$42.01")
    page.goto("/integrations/connectwise")
    _open(page, "Cedar Ridge Architects")
    expect(page.locator("#one-time-amount")).to_contain_text("$50.00")


def test_a_failed_sync_says_one_thing_and_offers_one_way_on(page: Page, demo: DemoRun) -> None:
    """The first write fails: one message, nothing contradictory, Sync again."""
    to_dashboard_with_tasks(page, demo)
    _open(page, "Harborview Realty")
    fault = {
        "rate_5xx": 1.0,
        "path_prefix": "/v4_6_release/apis/3.0/finance/agreements",
        "methods": ["DELETE"],
    }
    httpx.put(f"{demo.sandbox_url}/_sandbox/faults", json=fault).raise_for_status()
    page.get_by_role("button", name="Sync", exact=True).click()
    page.get_by_role("button", name="Confirm Sync").click()
    expect(page.locator("#page-error")).to_contain_text("Nothing was written", timeout=60_000)
    httpx.put(f"{demo.sandbox_url}/_sandbox/faults", json={}).raise_for_status()
    expect(page.get_by_role("alert")).to_have_count(1)
    expect(page.get_by_text("The plan has no addition")).to_have_count(0)
    page.get_by_role("button", name="Sync", exact=True).click()
    page.get_by_role("button", name="Confirm Sync").click()
    expect(page.get_by_text("Sync finished")).to_be_visible()


def test_a_partly_failed_sync_shows_what_connectwise_has_and_finishes(
    page: Page, demo: DemoRun
) -> None:
    """The sandbox refuses the second write with a definitive 400 (not retried, nothing
    unknown), so the sync stops part-way at once: no quiet period to wait out."""
    to_dashboard_with_tasks(page, demo)
    open_green_lane(page)
    refuse_second_write = {
        "path_prefix": "/v4_6_release/apis/3.0/finance/agreements",
        "methods": ["POST", "PUT", "PATCH", "DELETE"],
        "refuse_after": 1,
        "refuse_count": 1,
    }
    httpx.put(f"{demo.sandbox_url}/_sandbox/faults", json=refuse_second_write).raise_for_status()
    page.get_by_role("button", name="Sync", exact=True).click()
    page.get_by_role("button", name="Confirm Sync").click()
    unfinished = page.locator("#unfinished")
    expect(unfinished).to_contain_text("The sync stopped part-way")
    httpx.put(f"{demo.sandbox_url}/_sandbox/faults", json={}).raise_for_status()
    expect(unfinished).to_contain_text("1 of 3 changes reached")
    expect(page.locator("#now-in-connectwise li")).to_have_count(1)
    expect(page.locator("#now-in-connectwise")).to_contain_text("10 × $12.50")
    expect(page.locator("#left-to-do li")).to_have_count(2)
    expect(page.locator("#left-to-do")).to_contain_text("12 × $12.50")
    # One way on, and nothing that contradicts it.
    expect(page.get_by_role("button", name="Finish sync")).to_have_count(1)
    expect(page.get_by_role("button", name="Sync", exact=True)).to_have_count(0)
    expect(page.locator("#review-table")).to_have_count(0)
    expect(page.get_by_text("Nothing was written")).to_have_count(0)
    page.get_by_role("button", name="Finish sync").click()
    expect(page.get_by_text("Sync finished")).to_be_visible()
    keys = _sync_keys(demo, 1201)
    assert len(keys) == len(set(keys)) == 2, keys  # the two additions, each written once


def _sync_keys(demo: DemoRun, agreement_id: int) -> list[str]:
    """The psasync keys on an agreement's additions in the sandbox's ConnectWise, read around
    psasync (sync httpx: Playwright's loop owns this thread)."""
    credentials = next(c for c in demo.connectwise if c.company_id == "northwind")
    site = ConnectWiseSite(
        site_url=credentials.site_url,
        company_id=credentials.company_id,
        public_key=credentials.public_key,
        private_key=credentials.private_key,
        client_id=credentials.client_id,
    )
    answer = httpx.get(
        f"{site.api_base('v4_6_release')}finance/agreements/{agreement_id}/additions",
        params={"pageSize": 1000},
        headers=site.headers(),
    )
    answer.raise_for_status()
    keys = (read_marked_key(addition.get("description") or "") for addition in answer.json())
    return [key for key in keys if key]


def test_load_prices_shows_the_origin_and_keeps_other_edits(page: Page, demo: DemoRun) -> None:
    to_dashboard_with_tasks(page, demo)
    open_green_lane(page)
    page.get_by_label(RECURRING).fill("14")
    page.get_by_label(re.compile(r"^Description, create recurring")).fill("Seats for Green Lane")
    page.get_by_label("ConnectWise Catalog").check()
    expect(page.locator("#price-source-hint")).to_contain_text("existing addition's price")
    expect(page.get_by_label(RECURRING)).to_have_value("14")
    expect(page.get_by_label(re.compile(r"^Description, create recurring"))).to_have_value(
        "Seats for Green Lane"
    )
    expect(page.locator("td.price-origin").first).to_have_text("Existing addition")
    page.get_by_label("Cloud Marketplace").check()
    expect(page.locator("td.price-origin").nth(1)).to_have_text("Cloud Marketplace")
    expect(page.get_by_label(RECURRING)).to_have_value("14")


def test_dead_ends_say_what_to_do(page: Page, demo: DemoRun) -> None:
    to_dashboard_with_tasks(page, demo)
    _open(page, "Oakwood Accounting")
    expect(page.get_by_role("button", name="Use this agreement")).to_be_disabled()
    expect(page.locator("#no-eligible")).to_contain_text("can take these changes")
    expect(page.locator("a.record-link").first).to_have_attribute("href", re.compile("openrecord"))
    expect(page.get_by_role("button", name="Ignore this task")).to_be_visible()
    page.goto("/integrations/connectwise")
    _open(page, "Granite Peak Engineering")
    page.get_by_role("button", name="Mark done — nothing to change").click()
    expect(page.get_by_role("heading", name="Done — nothing to change")).to_be_visible()


def test_the_review_fits_a_laptop_screen(page: Page, demo: DemoRun, screenshots: Path) -> None:
    to_dashboard_with_tasks(page, demo)
    open_green_lane(page)
    for width, height in ((1280, 800), (1366, 768)):
        page.set_viewport_size({"width": width, "height": height})
        wrap = page.locator("#review-table").locator("xpath=..")
        overflow = wrap.evaluate("el => el.scrollWidth - el.clientWidth")
        assert overflow <= 0, f"the review table overflows by {overflow}px at {width}px"
        body = page.evaluate("document.documentElement.scrollWidth")
        assert body <= width, f"the page is {body}px wide at {width}px"
        box = page.get_by_role("columnheader", name="Extended").bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, box
        page.screenshot(path=str(screenshots / f"wizard-{width}.png"), full_page=True)


def test_one_number_rule_for_recalculate_and_confirm(page: Page, demo: DemoRun) -> None:
    to_dashboard_with_tasks(page, demo)
    open_green_lane(page)
    price = page.get_by_label(re.compile(r"^Unit price, create recurring"))
    price.fill("0.0000001")
    page.get_by_role("button", name="Recalculate").click()
    expect(page.get_by_text("Enter at most 4 decimals")).to_be_visible()
    expect(page.get_by_text("1E-7")).to_have_count(0)
    page.get_by_label(re.compile(r"^Unit price, create recurring")).fill("9.5")
    page.get_by_role("button", name="Sync", exact=True).click()
    expect(page.locator(".field-warning").first).to_contain_text("Below the unit cost")
    page.get_by_role("button", name="Confirm Sync").click()
    expect(page.get_by_text("Sync finished")).to_be_visible()


def test_the_review_address_and_a_relogin_keep_the_review(page: Page, demo: DemoRun) -> None:
    to_dashboard_with_tasks(page, demo)
    open_green_lane(page)
    page.get_by_label(RECURRING).fill("15")
    page.get_by_role("button", name="Recalculate").click()
    expect(page).to_have_url(re.compile(r"/review$"))
    page.reload()
    expect(page.get_by_role("heading", name=GREEN_LANE)).to_be_visible()
    page.get_by_label(RECURRING).fill("16")
    page.context.clear_cookies()  # the session ends mid-review
    page.get_by_role("button", name="Sync", exact=True).click()
    expect(page.get_by_text("Your session ended before the Sync")).to_be_visible()
    northwind = next(login for login in demo.logins if login.reseller == "Northwind IT")
    page.get_by_label("Username").fill(northwind.username)
    page.get_by_label("Password").fill(northwind.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("your review is as you left it")).to_be_visible()
    expect(page.get_by_label(RECURRING)).to_have_value("16")
