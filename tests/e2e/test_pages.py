"""The pages over the same session and use cases as the API, driven as a browser without
JavaScript would: form posts, redirects, the HTML that comes back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from psasync.config import Settings
from psasync.sandbox.faults import FaultSettings
from psasync.services import Services, planning
from psasync.services.types import Action, Plan
from psasync.web.app import create_app
from tests.e2e.conftest import CONNECTWISE, NORTHWIND, World, task_id

pytestmark = pytest.mark.anyio
GREEN_LANE_CHANGE = "CH0000417"
WILLOW_CREEK_SALES = "SO0000395"


def text_of(html: str) -> str:
    """The page's visible text, whitespace collapsed: what a reader sees."""
    without_tags = re.sub(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(without_tags)).strip()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def form_fields(html: str, action: str) -> list[tuple[str, str]]:
    """The fields a browser would submit with the form posting to ``action`` (checked boxes
    only, selected options)."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert form, f"no form posts to {action}"
    body = form.group(1)
    fields: list[tuple[str, str]] = []
    for tag in re.finditer(r"<input([^>]*)>", body):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(1)))
        if "name" not in attrs:
            continue
        if attrs.get("type") in ("checkbox", "radio") and "checked" not in tag.group(1):
            continue
        fields.append((attrs["name"], unescape(attrs.get("value", ""))))
    for select in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
        chosen = re.search(r'<option value="([^"]*)"\s*selected', select.group(2))
        first = re.search(r'<option value="([^"]*)"', select.group(2))
        value = chosen.group(1) if chosen else (first.group(1) if first else "")
        fields.append((select.group(1), value))
    return fields


def replaced(fields: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    assert any(n == name for n, _ in fields), f"no field {name}"
    return [(n, value if n == name else v) for n, v in fields]


async def post_form(
    client: httpx.AsyncClient, url: str, fields: list[tuple[str, str]], **options: bool
) -> httpx.Response:
    """Post fields as a browser does, repeated names included."""
    return await client.post(
        url,
        content=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=options.get("follow_redirects", False),
    )


@asynccontextmanager
async def browser(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with world.client() as client:
        yield client


async def log_in(client: httpx.AsyncClient, who: dict[str, str] | None = None) -> httpx.Response:
    credentials = who or NORTHWIND
    return await client.post(
        "/login",
        data={"marketplace": "us", **credentials},
        follow_redirects=True,
    )


async def connect(client: httpx.AsyncClient) -> httpx.Response:
    page = await client.get("/integrations/connectwise/settings")
    return await client.post(
        "/integrations/connectwise/settings",
        data={
            "csrf_token": csrf_of(page.text),
            "site_url": CONNECTWISE["siteUrl"],
            "company_id": CONNECTWISE["companyId"],
            "public_key": CONNECTWISE["publicKey"],
            "private_key": CONNECTWISE["privateKey"],
            "client_id": CONNECTWISE["clientId"],
        },
        follow_redirects=True,
    )


async def check_changes(client: httpx.AsyncClient) -> httpx.Response:
    page = await client.get("/integrations/connectwise")
    return await client.post(
        "/integrations/connectwise/check-changes", data={"csrf_token": csrf_of(page.text)}
    )


async def ready(client: httpx.AsyncClient) -> None:
    assert (await log_in(client)).status_code == 200
    assert (await connect(client)).status_code == 200
    assert (await check_changes(client)).status_code == 200


async def test_a_page_without_a_session_leads_to_login_and_back(world: World) -> None:
    async with browser(world) as client:
        answer = await client.get("/integrations/connectwise/history")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Fintegrations%2Fconnectwise%2Fhistory"
        login = await client.post(
            "/login",
            data={"marketplace": "us", "next": "/integrations/connectwise/history", **NORTHWIND},
        )
        assert login.status_code == 303
        assert login.headers["location"] == "/integrations/connectwise/history"


async def test_login_tells_wrong_credentials_from_an_unreachable_marketplace(
    world: World,
) -> None:
    async with browser(world) as client:
        wrong = await log_in(client, {**NORTHWIND, "password": "not-it"})
        assert wrong.status_code == 401
        assert "did not accept this username and password" in text_of(wrong.text)
        assert 'value="demo@northwind-it.example"' in wrong.text  # the username is kept

        world.sandbox.faults.configure(FaultSettings(rate_5xx=1.0))
        down = await log_in(client)
        world.sandbox.faults.configure(FaultSettings())
        assert down.status_code == 502
        assert "cannot be reached right now" in text_of(down.text)
        assert "did not accept" not in down.text


async def test_login_refuses_an_address_elsewhere_as_next(world: World) -> None:
    async with browser(world) as client:
        answer = await client.post(
            "/login", data={"marketplace": "us", "next": "//evil.example/x", **NORTHWIND}
        )
        assert answer.headers["location"] == "/integrations"


async def test_first_use_leads_from_the_tile_to_the_settings_form(world: World) -> None:
    async with browser(world) as client:
        tiles = await log_in(client)
        assert "Not configured" in text_of(tiles.text)
        manage = await client.get("/integrations/connectwise")
        assert manage.status_code == 303
        assert manage.headers["location"] == "/integrations/connectwise/settings"

        page = await client.get("/integrations/connectwise/settings")
        refused = await client.post(
            "/integrations/connectwise/settings",
            data={
                "csrf_token": csrf_of(page.text),
                "site_url": CONNECTWISE["siteUrl"],
                "company_id": "northwind",
                "public_key": "demoPublicKey01",
                "private_key": "wrong",
                "client_id": CONNECTWISE["clientId"],
            },
        )
        assert refused.status_code == 422
        assert "Not configured" in text_of((await client.get("/integrations")).text)

        connected = await connect(client)
        assert "ConnectWise is connected" in text_of(connected.text)
        assert "Connected" in text_of((await client.get("/integrations")).text)


async def test_a_form_post_without_the_session_token_is_refused(world: World) -> None:
    async with browser(world) as client:
        await log_in(client)
        answer = await client.post(
            "/integrations/connectwise/settings", data={"site_url": "x", "csrf_token": "forged"}
        )
        assert answer.status_code == 403
        assert "security token" in text_of(answer.text)


async def test_check_changes_lists_the_new_orders_and_the_task_list_filters(
    world: World,
) -> None:
    async with browser(world) as client:
        await log_in(client)
        await connect(client)
        first = await check_changes(client)
        assert "Found 12 new orders" in text_of(first.text)
        assert "Green Lane LLC 1000048531 — Change Order" in text_of(first.text)
        again = await check_changes(client)
        assert "No new orders" in text_of(again.text)

        changes = await client.get("/integrations/connectwise", params={"type": "change"})
        rows = text_of(changes.text)
        assert GREEN_LANE_CHANGE in rows and WILLOW_CREEK_SALES not in rows
        found = await client.get("/integrations/connectwise", params={"q": "green lane"})
        assert GREEN_LANE_CHANGE in text_of(found.text)
        bad = await client.get("/integrations/connectwise", params={"status": "bogus"})
        assert bad.status_code == 400
        assert "status must be one of" in text_of(bad.text)


async def test_ignore_and_unignore_from_the_list(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        async with world.login() as api:
            task = await task_id(api, GREEN_LANE_CHANGE)
        page = await client.get("/integrations/connectwise")
        ignored = await client.post(
            f"/integrations/connectwise/tasks/{task}/ignore",
            data={"csrf_token": csrf_of(page.text)},
            follow_redirects=True,
        )
        assert ignored.status_code == 200
        listed = await client.get("/integrations/connectwise", params={"status": "ignored"})
        assert GREEN_LANE_CHANGE in text_of(listed.text)
        assert "Un-ignore Green Lane LLC 1000048531" in listed.text
        await client.post(
            f"/integrations/connectwise/tasks/{task}/unignore",
            data={"csrf_token": csrf_of(page.text)},
        )
        listed = await client.get("/integrations/connectwise", params={"status": "ignored"})
        assert GREEN_LANE_CHANGE not in text_of(listed.text)


async def test_the_wizard_reviews_edits_confirms_and_syncs_the_change_order(
    world: World,
) -> None:
    async with browser(world) as client:
        await ready(client)
        async with world.login() as api:
            task = await task_id(api, GREEN_LANE_CHANGE)
        url = f"/integrations/connectwise/tasks/{task}"
        wizard = await client.get(url)
        page = text_of(wizard.text)
        assert wizard.status_code == 200
        # The one eligible agreement is chosen; the others say why not.
        assert re.search(r'id="agreement-1201"[^>]*checked', wizard.text)
        assert re.search(r'id="agreement-1202"[^>]*disabled', wizard.text)
        assert "Prorated amount $16.66" in page
        assert "Recurring amount $157.00 → $182.00" in page

        # The catalog's prices re-compute the preview.
        catalog = await client.get(url, params={"agreement": 1201, "source": "connectwise"})
        assert "Prorated amount $0.00" in text_of(catalog.text)

        review = f"{url}/review"
        fields = form_fields(wizard.text, review)
        quantity_field = next(n for n, v in fields if n.endswith("-quantity") and v == "2")
        bad = await post_form(client, review, replaced(fields, quantity_field, "two"))
        assert bad.status_code == 422
        assert "Enter a number" in text_of(bad.text)
        assert 'value="two"' in bad.text  # what was typed stays

        confirm = await post_form(client, review, [*fields, ("intent", "sync")])
        assert "Sync these changes to Green Lane - Managed Cloud?" in text_of(confirm.text)
        synced = await post_form(
            client, f"{url}/sync", form_fields(confirm.text, f"{url}/sync"), follow_redirects=True
        )
        assert synced.status_code == 200
        shown = text_of(synced.text)
        assert "Sync finished" in shown and "Synced" in shown
        assert "recordType=AgreementFV&amp;recid=1201" in synced.text
        written = [a for a in await world.additions(1201) if a.sync_key]
        assert written, "the sync wrote nothing to ConnectWise"
        assert any(a.quantity == Decimal(12) and a.cancelled_date is None for a in written)

        history = await client.get("/integrations/connectwise/history")
        assert "Green Lane LLC 1000048531 — Change Order" in text_of(history.text)
        assert "Succeeded" in text_of(history.text)


async def test_an_ineligible_agreement_is_refused_with_its_reasons(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        async with world.login() as api:
            task = await task_id(api, GREEN_LANE_CHANGE)
        url = f"/integrations/connectwise/tasks/{task}"
        refused = await client.get(url, params={"agreement": 1202})
        assert refused.status_code == 422
        assert "cannot take these changes" in text_of(refused.text)
        wizard = await client.get(url)
        fields = replaced(form_fields(wizard.text, f"{url}/review"), "agreement_id", "1203")
        sync = await post_form(client, f"{url}/sync", fields)
        assert sync.status_code == 422
        assert len(await world.additions(1203)) == 0


async def test_an_unmapped_customer_is_mapped_inline(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        async with world.login() as api:
            task = await task_id(api, WILLOW_CREEK_SALES)
        url = f"/integrations/connectwise/tasks/{task}"
        wizard = await client.get(url)
        assert "Map customer" in wizard.text
        mapped = await client.post(
            f"{url}/map-customer",
            data={"csrf_token": csrf_of(wizard.text), "company_id": "260"},
            follow_redirects=True,
        )
        assert mapped.status_code == 200
        assert 'id="agreement-1301"' in mapped.text


async def test_another_resellers_task_is_not_found(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        async with world.login() as api:
            task = await task_id(api, GREEN_LANE_CHANGE)
    async with browser(world) as other:
        await log_in(other, {"username": "ops@contoso-cloud.example", "password": "contoso-demo"})
        answer = await other.get(f"/integrations/connectwise/tasks/{task}")
        assert answer.status_code in (303, 404)


async def test_mappings_page_maps_a_customer_by_hand_and_searches_the_pickers(
    world: World,
) -> None:
    async with browser(world) as client:
        await ready(client)
        page = await client.get("/integrations/connectwise/mappings")
        assert page.status_code == 200
        willow = re.search(r"<tr>\s*<td>Willow Creek Farms.*?</tr>", page.text, re.S)
        assert willow and "Not mapped" in willow.group(0)

        saved = await client.post(
            "/integrations/connectwise/mappings/customers",
            data={
                "csrf_token": csrf_of(page.text),
                "customer_id": "1000048541",
                "company_id": "260",
            },
            follow_redirects=True,
        )
        assert "Customer mapping saved." in text_of(saved.text)
        willow = re.search(r"<tr>\s*<td>Willow Creek Farms.*?</tr>", saved.text, re.S)
        assert willow and "By hand" in willow.group(0)

        unknown = await client.post(
            "/integrations/connectwise/mappings/customers",
            data={
                "csrf_token": csrf_of(page.text),
                "customer_id": "1000048541",
                "company_id": "999999",
            },
        )
        assert unknown.status_code == 422
        assert "no company #999999" in text_of(unknown.text)

        narrowed = await client.get(
            "/integrations/connectwise/mappings", params={"company_q": "green lane"}
        )
        companies = re.search(r'id="company-1".*?</select>', narrowed.text, re.S)
        assert companies and "Green Lane" in companies.group(0)
        assert "Willow" not in companies.group(0)


async def test_several_marketplaces_get_a_picker_and_an_unreachable_one_says_so(
    tmp_path: Path,
) -> None:
    settings = Settings.model_validate(
        {
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'picker.db'}",
            "secret_key": "a-picker-test-secret-key-0123456789",
            "marketplaces": [
                {
                    "code": "us",
                    "name": "Cloud Marketplace US",
                    "url": "http://127.0.0.1:9/us",
                    "subscriptionKey": "k",
                },
                {
                    "code": "eu",
                    "name": "Cloud Marketplace EU",
                    "url": "http://127.0.0.1:9/eu",
                    "subscriptionKey": "k",
                },
            ],
        }
    )
    services = Services.create(settings)
    app = create_app(settings, services=services)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://psasync.test"
        ) as client:
            page = await client.get("/login")
            picker = re.search(r'<select id="marketplace".*?</select>', page.text, re.S)
            assert picker and "Cloud Marketplace US" in picker.group(0)
            assert "Cloud Marketplace EU" in picker.group(0)
            down = await client.post(
                "/login", data={"marketplace": "eu", "username": "someone", "password": "x"}
            )
            assert down.status_code == 502
            assert "Cloud Marketplace EU cannot be reached right now" in text_of(down.text)
            assert re.search(r'<option value="eu"\s*selected', down.text)
    finally:
        await services.aclose()


async def test_a_malformed_address_gets_a_page_not_json(world: World) -> None:
    async with browser(world) as client:
        await log_in(client)
        for path in ("/integrations/connectwise/tasks/abc", "/integrations/connectwise?offset=-1"):
            answer = await client.get(path)
            assert answer.status_code == 422
            assert answer.headers["content-type"].startswith("text/html")
            text = text_of(answer.text)
            # Said in words, never in the framework's ("Input should be …").
            assert "does not name anything" in text or "could not be read (offset)" in text
            assert "Input should" not in text
        missing = await client.get("/integrations/nowhere")
        assert missing.status_code == 404
        assert "There is no page at this address." in text_of(missing.text)
        api = await client.get("/api/v1/connectwise/tasks/abc")
        assert api.json()["error"]["code"] == "InvalidRequest"


async def test_a_company_that_is_not_a_record_id_is_asked_for_again(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        page = await client.get("/integrations/connectwise/mappings")
        for chosen in ("²", "99999999999"):
            answer = await client.post(
                "/integrations/connectwise/mappings/customers",
                data={"csrf_token": csrf_of(page.text), "customer_id": "1", "company_id": chosen},
            )
            assert answer.status_code == 422
            assert "Choose a ConnectWise company." in text_of(answer.text)


def review_row(html: str, index: int) -> str:
    rows = re.findall(r'<tr class="action-[a-z]+">.*?</tr>', html, re.S)
    assert len(rows) > index, "the review table has fewer rows"
    return str(rows[index])


async def test_the_review_says_where_each_price_came_from(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        async with world.login() as api:
            task = await task_id(api, GREEN_LANE_CHANGE)
        url = f"/integrations/connectwise/tasks/{task}"
        wizard = await client.get(url)
        assert "Price from" in text_of(wizard.text)
        shown = [text_of(review_row(wizard.text, i)) for i in range(3)]
        assert "Existing addition" in shown[0]  # the cancel keeps the ongoing addition's price
        assert "Cloud Marketplace" in shown[1] and "Cloud Marketplace" in shown[2]

        fields = form_fields(wizard.text, f"{url}/review")
        price = next(n for n, v in fields if n == "additions-1-unitPrice")
        edited = await post_form(client, f"{url}/review", replaced(fields, price, "13.00"))
        assert edited.status_code == 200
        assert "Edited" in text_of(review_row(edited.text, 1))


async def test_a_delete_reads_never_billed_and_has_no_field_to_edit(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo's Green Lane change has a cancel; shown as the delete a cancellation plans for
    # an addition that has not started, the review must offer nothing to edit on it.
    original = planning.preview

    async def with_a_delete(*args: Any, **kwargs: Any) -> Plan:
        plan = await original(*args, **kwargs)
        actions = tuple(
            replace(a, action=Action.DELETE) if a.action is Action.CANCEL else a
            for a in plan.actions
        )
        return replace(plan, actions=actions)

    monkeypatch.setattr(planning, "preview", with_a_delete)
    async with browser(world) as client:
        await ready(client)
        async with world.login() as api:
            task = await task_id(api, GREEN_LANE_CHANGE)
        url = f"/integrations/connectwise/tasks/{task}"
        wizard = await client.get(url)
        assert wizard.status_code == 200
        row = review_row(wizard.text, 0)
        assert "Delete (never billed)" in text_of(row)
        # Nothing to shape, only the "Sync" tick that leaves it out.
        editable = re.finditer(r"<(?:select|textarea)|<input(?![^>]*type=\"hidden\")[^>]*>", row)
        assert not [tag.group(0) for tag in editable if "-include" not in tag.group(0)], row

        fields = form_fields(wizard.text, f"{url}/review")
        confirm = await post_form(client, f"{url}/review", [*fields, ("intent", "sync")])
        assert "1 to delete (never billed)" in text_of(confirm.text)


async def test_the_mappings_page_maps_a_setup_fee_item_and_refuses_a_bundle(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        page = await client.get("/integrations/connectwise/mappings")
        assert "Setup-fee item" in text_of(page.text)
        url = "/integrations/connectwise/mappings/products"
        form = {"csrf_token": csrf_of(page.text), "mpn": "BKP-CLOUD-500", "catalog_item_id": "303"}
        saved = await client.post(
            url, data={**form, "setup_catalog_item_id": "306"}, follow_redirects=True
        )
        assert "Product mapping saved." in text_of(saved.text)
        backup = re.search(r"<tr>\s*<td>BKP-CLOUD-500</td>.*?</tr>", saved.text, re.S)
        assert backup and 'class="setup-item">EPP-ANNUAL (#306)' in backup.group(0)
        setup_select = re.search(r'<select id="setup-item-.*?</select>', backup.group(0), re.S)
        assert setup_select and re.search(r'<option value="306"\s*selected', setup_select.group(0))

        bundle = await client.post(url, data={**form, "setup_catalog_item_id": "390"})
        assert bundle.status_code == 422
        assert "is a Bundle" in text_of(bundle.text)
        recurring_bundle = await client.post(url, data={**form, "catalog_item_id": "390"})
        assert recurring_bundle.status_code == 422
        assert "is a Bundle" in text_of(recurring_bundle.text)

        removed = await client.post(
            url, data={**form, "setup_catalog_item_id": ""}, follow_redirects=True
        )
        backup = re.search(r"<tr>\s*<td>BKP-CLOUD-500</td>.*?</tr>", removed.text, re.S)
        assert backup and 'class="setup-item">—' in backup.group(0)
