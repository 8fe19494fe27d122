"""The Sync Changes wizard and its neighbours as pages (issue 17), driven as a browser without
JavaScript would: what a part-failed sync, a lost double sync, a refused mapping, a renewal
with nothing to change, a re-login mid-review and the result page say."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from psasync.sandbox.faults import FaultSettings
from tests.e2e.conftest import CONNECTWISE, World, task_id
from tests.e2e.test_pages import (
    browser,
    csrf_of,
    form_fields,
    log_in,
    post_form,
    ready,
    replaced,
    text_of,
)

pytestmark = pytest.mark.anyio
TASKS = "/integrations/connectwise/tasks"
ADDITIONS_PATH = "/v4_6_release/apis/3.0/finance/agreements"
SETTINGS = "/integrations/connectwise/settings"
MAPPINGS = "/integrations/connectwise/mappings"


async def _task(world: World, order_number: str) -> int:
    async with world.login() as api:
        return await task_id(api, order_number)


async def _confirm_and_sync(client, url: str, fields):  # type: ignore[no-untyped-def]
    confirm = await post_form(client, f"{url}/review", [*fields, ("intent", "sync")])
    assert confirm.status_code == 200, text_of(confirm.text)
    return await post_form(client, f"{url}/sync", form_fields(confirm.text, f"{url}/sync"))


async def test_a_part_failed_sync_shows_what_connectwise_has_and_one_finish_button(
    world: World,
) -> None:
    async with browser(world) as client:
        await ready(client)
        task = await _task(world, "CH0000417")
        url = f"{TASKS}/{task}"
        wizard = await client.get(url)
        world.sandbox.faults.configure(
            FaultSettings(rate_5xx=1.0, path_prefix=ADDITIONS_PATH, methods=frozenset({"POST"}))
        )
        failed = await _confirm_and_sync(client, url, form_fields(wizard.text, f"{url}/review"))
        world.sandbox.faults.configure(FaultSettings())
        assert failed.status_code == 502
        page = text_of(failed.text)
        assert "The sync stopped part-way" in page
        assert "1 of 3 changes reached" in page
        finish = re.findall(r">\s*Finish sync\s*<", failed.text)
        assert len(finish) == 1
        # No contradiction: no re-planned table, no "nothing was written", no internal key.
        assert "Nothing was written" not in page and "The plan has no addition" not in page
        assert 'id="review-table"' not in failed.text
        assert "Cancel Recurring M365-BUS-STD" in page  # what ConnectWise now has
        assert "10 × $12.50" in page

        again = await client.get(url)
        assert "The sync stopped part-way" in text_of(again.text)
        done = await post_form(client, f"{url}/sync", form_fields(again.text, f"{url}/sync"))
        assert done.status_code == 303
        result = text_of((await client.get(done.headers["location"])).text)
        assert "Sync finished" in result


async def test_a_refused_second_write_stops_the_sync_part_way_and_finish_completes_it(
    world: World,
) -> None:
    """The sandbox's definitive refusal (a 400: not retried, nothing unknown) of the second
    write stages a part-written sync at once."""
    async with browser(world) as client:
        await ready(client)
        task = await _task(world, "CH0000417")
        url = f"{TASKS}/{task}"
        wizard = await client.get(url)
        world.sandbox.faults.configure(
            FaultSettings(
                path_prefix=ADDITIONS_PATH,
                methods=frozenset({"POST", "PUT", "PATCH", "DELETE"}),
                refuse_after=1,
                refuse_count=1,
            )
        )
        failed = await _confirm_and_sync(client, url, form_fields(wizard.text, f"{url}/review"))
        assert world.sandbox.faults.draw() is None  # the one refusal was used
        world.sandbox.faults.configure(FaultSettings())
        page = text_of(failed.text)
        assert "The sync stopped part-way" in page, page
        assert "1 of 3 changes reached" in page
        assert len(re.findall(r">\s*Finish sync\s*<", failed.text)) == 1
        assert "Nothing was written" not in page and 'id="review-table"' not in failed.text

        again = await client.get(url)
        done = await post_form(client, f"{url}/sync", form_fields(again.text, f"{url}/sync"))
        assert done.status_code == 303
        assert "Sync finished" in text_of((await client.get(done.headers["location"])).text)
        keys = [a.sync_key for a in await world.additions(1201) if a.sync_key]
        assert len(keys) == len(set(keys)) == 2  # the two creates, each once


async def test_the_losing_tab_of_a_double_sync_says_who_synced_it_and_when(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        task = await _task(world, "CH0000417")
        url = f"{TASKS}/{task}"
        wizard = await client.get(url)
        confirm = await post_form(
            client,
            f"{url}/review",
            [*form_fields(wizard.text, f"{url}/review"), ("intent", "sync")],
        )
        async with world.login() as api:
            answer = await api.post(
                f"/api/v1/connectwise/tasks/{task}/sync",
                json={"agreementId": 1201, "priceSource": "marketplace"},
            )
            assert answer.status_code == 200, answer.text
        lost = await post_form(client, f"{url}/sync", form_fields(confirm.text, f"{url}/sync"))
        page = text_of(lost.text)
        assert lost.status_code == 409
        assert "Synced by demo@northwind-it.example at 24 Nov 2026, 12:00 UTC" in page
        assert "nothing was written twice" in page
        assert 'role="alert"' not in lost.text and "being synced right now" not in page
        assert 'id="review-table"' not in lost.text
        assert "Written" in page  # the result


async def test_mapping_a_product_to_a_bundle_is_refused_at_the_mapping(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        page = await client.get(
            "/integrations/connectwise/mappings", params={"catalog_q": "bundle"}
        )
        refused = await client.post(
            "/integrations/connectwise/mappings/products",
            data={
                "csrf_token": csrf_of(page.text),
                "mpn": "M365-BUS-STD",
                "catalog_item_id": "390",
            },
        )
        shown = text_of(refused.text)
        assert refused.status_code == 422
        assert "Product mapping saved" not in shown
        assert re.search(r"Catalog item M365-STARTER-BUNDLE \(#390\) is a Bundle", shown)


async def test_a_renewal_with_nothing_to_change_can_be_marked_done(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        task = await _task(world, "RN0000055")
        url = f"{TASKS}/{task}"
        wizard = await client.get(url)
        assert "Nothing to change on this agreement" in text_of(wizard.text)
        done = await post_form(client, f"{url}/done", form_fields(wizard.text, f"{url}/done"))
        assert done.status_code == 303
        page = text_of((await client.get(done.headers["location"])).text)
        assert "Done — nothing to change" in page and "Marked done" in page


async def test_no_eligible_agreement_disables_the_choice_and_says_what_to_do(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        task = await _task(world, "CH0000421")  # Pinecrest: its only agreement is cancelled
        page = await client.get(f"{TASKS}/{task}")
        shown = text_of(page.text)
        assert re.search(r"<button type=\"submit\"\s+disabled[^>]*>Use this agreement", page.text)
        assert "can take these changes" in shown and "Ignore this task" in shown
        assert "openrecord.rails" in page.text
        # A cancelled agreement is not also said to be cancelled twice.
        assert shown.count("cancelled") + shown.count("Cancelled") <= 2


async def test_the_review_address_works_on_get(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        task = await _task(world, "CH0000417")
        again = await client.get(f"{TASKS}/{task}/review")
        assert again.status_code == 303
        assert again.headers["location"] == f"{TASKS}/{task}"


async def test_a_relogin_mid_review_keeps_the_edits(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        task = await _task(world, "CH0000417")
        url = f"{TASKS}/{task}"
        wizard = await client.get(url)
        fields = form_fields(wizard.text, f"{url}/review")
        field = next(n for n, v in fields if n.endswith("-quantity") and v == "12")
        edited = replaced(fields, field, "20")
        client.cookies.clear()  # the session ended
        posted = await post_form(client, f"{url}/review", [*edited, ("intent", "sync")])
        assert posted.status_code == 303
        login = await client.get(posted.headers["location"])
        assert "Your session ended before the Sync" in text_of(login.text)
        next_url = parse_qs(urlsplit(posted.headers["location"]).query)["next"][0]
        answer = await client.post(
            "/login",
            data={
                "marketplace": "us",
                "username": "demo@northwind-it.example",
                "password": "northwind-demo",
                "next": next_url,
            },
        )
        assert answer.status_code == 303
        back = await client.get(answer.headers["location"])
        assert back.status_code == 200
        assert re.search(rf'name="{field}" type="text" value="20"', back.text)
        assert "your review is as you left it" in text_of(back.text)
        assert not [a for a in await world.additions(1201) if a.sync_key]


async def test_wording_house_dates_kinds_and_settings_hint(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        task = await _task(world, "SO0000392")  # Cedar Ridge: a setup fee (one-time)
        url = f"{TASKS}/{task}"
        wizard = await client.get(url)
        shown = text_of(wizard.text)
        assert "One-time" in shown and "one_time" not in re.sub(r"task:\d+:line\d+:\w+", "", shown)
        assert "<td>Setup fee</td>" in wizard.text and "<td>setup</td>" not in wizard.text
        assert not re.search(r"\b20\d\d-\d\d-\d\d\b", re.sub(r"task:\S+", "", shown))
        assert 'type="date"' not in wizard.text


async def test_a_first_setup_has_no_enter_it_again_hint(world: World) -> None:
    async with browser(world) as client:
        await log_in(client)
        settings = text_of((await client.get(SETTINGS)).text)
        assert "enter it again" not in settings and "keep the stored key" not in settings


async def test_editing_the_settings_shows_the_keys_and_keeps_the_private_key(
    world: World,
) -> None:
    async with browser(world) as client:
        await ready(client)
        page = await client.get(SETTINGS)
        assert re.search(
            rf'name="public_key" type="text" value="{CONNECTWISE["publicKey"]}"', page.text
        )
        assert re.search(
            rf'name="client_id" type="text" value="{CONNECTWISE["clientId"]}"', page.text
        )
        assert CONNECTWISE["privateKey"] not in page.text
        assert re.search(r'name="private_key" type="password" value=""(?![^>]*required)', page.text)
        shown = text_of(page.text)
        assert "leave it blank to keep the stored key" in shown
        assert "enter it again" not in shown

        # Saved again with the private key left blank: checked with the stored key, and kept.
        saved = await post_form(client, SETTINGS, form_fields(page.text, SETTINGS))
        assert saved.status_code == 303, text_of(saved.text)
        connected = text_of((await client.get(saved.headers["location"])).text)
        assert "ConnectWise is connected" in connected
        task = await _task(world, "CH0000417")
        wizard = await client.get(f"{TASKS}/{task}")  # reads ConnectWise with the kept key
        assert wizard.status_code == 200 and 'id="review-table"' in wizard.text


async def test_the_stored_private_key_is_kept_only_for_the_same_site_company_and_key(
    world: World,
) -> None:
    async with browser(world) as client:
        await ready(client)
        page = await client.get(SETTINGS)
        fields = form_fields(page.text, SETTINGS)
        # The in-process sandbox answers any .test host: without the guard the stored key
        # would go to this other site, be accepted, and the site would change.
        for name, value in (
            ("site_url", "http://elsewhere.test"),
            ("public_key", "anotherPublicKey"),
        ):
            refused = await post_form(client, SETTINGS, replaced(fields, name, value))
            assert refused.status_code == 422
            shown = text_of(refused.text)
            assert "the stored one is kept only for the same site, company and public key" in shown
            assert re.search(r'id="private_key"[^>]*aria-invalid="true"', refused.text)
        assert "http://elsewhere.test" not in (await client.get(SETTINGS)).text

        # A typed key that is refused is not sent back: only now is it "entered again".
        wrong = await post_form(client, SETTINGS, replaced(fields, "private_key", "not-the-key"))
        assert wrong.status_code == 422
        assert "not-the-key" not in wrong.text
        assert "enter it again (left blank, the stored key is kept)" in text_of(wrong.text)


async def test_the_result_lists_what_was_written_and_the_left_out(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        task = await _task(world, "CH0000417")
        url = f"{TASKS}/{task}"
        wizard = await client.get(url)
        fields = form_fields(wizard.text, f"{url}/review")
        prorate = next(n for n, v in fields if n.endswith("-key") and v.endswith(":prorate"))
        index = prorate.split("-")[1]
        kept = [
            (n, v) for n, v in fields if not (n == f"additions-{index}-include" and v == "true")
        ]
        synced = await _confirm_and_sync(client, url, kept)
        assert synced.status_code == 303
        page = text_of((await client.get(synced.headers["location"])).text)
        assert "Synced with exclusions" in page
        assert re.search(r"12 × \$12\.50\s*, from 1 Dec 2026", page)
        assert "Left out" in page
        history = await client.get("/integrations/connectwise/history")
        assert "1 left out" in text_of(history.text)
        assert "Succeeded with exclusions" in text_of(history.text)
        assert re.search(r'<td class="num nowrap">[^<]*\$', history.text)


async def test_the_dashboard_says_synced_with_exclusions_for_a_task_with_lines_left_out(
    world: World,
) -> None:
    async with browser(world) as client:
        await ready(client)
        left_out, whole = await _task(world, "CH0000417"), await _task(world, "SO0000392")
        for task, leave_out in ((left_out, ":prorate"), (whole, None)):
            url = f"{TASKS}/{task}"
            fields = form_fields((await client.get(url)).text, f"{url}/review")
            if leave_out:
                line = next(n for n, v in fields if n.endswith("-key") and v.endswith(leave_out))
                include = line.replace("-key", "-include")
                fields = [(n, v) for n, v in fields if not (n == include and v == "true")]
            assert (await _confirm_and_sync(client, url, fields)).status_code == 303
        dashboard = await client.get("/integrations/connectwise", params={"status": "synced"})
        rows = {
            int(found.group(1)): text_of(found.group(0))
            for found in re.finditer(
                r'<tr[^>]*>(?:(?!</tr>).)*?/tasks/(\d+)".*?</tr>', dashboard.text, re.S
            )
        }
        assert "Synced with exclusions" in rows[left_out]
        assert "Synced" in rows[whole] and "exclusions" not in rows[whole]


async def test_map_customer_confirms_and_the_dashboard_explains_a_held_watermark(
    world: World,
) -> None:
    async with browser(world) as client:
        await ready(client)
        task = await _task(world, "SO0000395")  # Willow Creek: mapped by hand
        url = f"{TASKS}/{task}"
        page = await client.get(url)
        mapped = await client.post(
            f"{url}/map-customer", data={"csrf_token": csrf_of(page.text), "company_id": "260"}
        )
        assert mapped.status_code == 303
        shown = text_of((await client.get(mapped.headers["location"])).text)
        assert "Customer mapped" in shown
        dashboard = await client.get("/integrations/connectwise")
        checked = await client.post(
            "/integrations/connectwise/check-changes", data={"csrf_token": csrf_of(dashboard.text)}
        )
        said = text_of(checked.text)
        assert "still processing" in said
        assert "an order still processing holds the starting point" in said


async def test_mappings_say_automatic_by_mpn(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        task = await _task(world, "CH0000417")
        await client.get(f"{TASKS}/{task}")  # the first review maps its products by MPN
        page = text_of((await client.get("/integrations/connectwise/mappings")).text)
        assert "Automatic (by MPN)" in page
        assert "By MPN " not in page


async def test_the_review_explains_the_key_marker_and_warns_below_cost(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        task = await _task(world, "CH0000417")
        url = f"{TASKS}/{task}"
        wizard = await client.get(url)
        shown = text_of(wizard.text)
        assert f"[psasync task:{task}:line1:" in shown and "internal description" in shown
        fields = form_fields(wizard.text, f"{url}/review")
        recurring = next(n for n, v in fields if n.endswith("-key") and v.endswith(":recurring"))
        price = recurring.replace("-key", "-unitPrice")
        cheap = await post_form(client, f"{url}/review", replaced(fields, price, "9.5"))
        assert "Below the unit cost of $10.00" in text_of(cheap.text)


async def test_a_malformed_page_address_is_explained_in_words(world: World) -> None:
    async with browser(world) as client:
        await ready(client)
        page = await client.get(f"{TASKS}/not-a-number")
    assert page.status_code == 422
    text = text_of(page.text)
    assert "That address does not name anything psasync knows" in text
    assert "path.task_id" not in text and "Input should be" not in text


def _row(html: str, name: str) -> str:
    found = re.search(rf"<tr>\s*<td>{re.escape(name)}.*?</tr>", html, re.S)
    assert found, f"no row for {name}"
    return found.group(0)


async def test_a_mapping_by_hand_goes_back_to_automatic_after_a_confirmation(
    world: World,
) -> None:
    async with browser(world) as client:
        await ready(client)
        page = await client.get(MAPPINGS)
        token = csrf_of(page.text)
        assert "Back to automatic" not in _row(page.text, "Green Lane LLC")
        await client.post(
            f"{MAPPINGS}/customers",
            data={"csrf_token": token, "customer_id": "1000048531", "company_id": "260"},
        )
        await client.post(
            f"{MAPPINGS}/products",
            data={"csrf_token": token, "mpn": "M365-BUS-STD", "catalog_item_id": "302"},
        )
        page = await client.get(MAPPINGS)
        assert "By hand" in _row(page.text, "Green Lane LLC")
        assert "Back to automatic" in _row(page.text, "Green Lane LLC")
        assert "Back to automatic" in _row(page.text, "M365-BUS-STD")

        # The button first asks, and changes nothing.
        asked = await post_form(
            client,
            f"{MAPPINGS}/customers/automatic",
            [("csrf_token", token), ("customer_id", "1000048531")],
        )
        assert asked.status_code == 200
        question = text_of(asked.text)
        assert "Put Green Lane LLC back to automatic?" in question
        assert "mapping by hand to Willow Creek Farms, Inc. (#260) is forgotten" in question
        assert "By hand" in _row(asked.text, "Green Lane LLC")

        done = await post_form(
            client,
            f"{MAPPINGS}/customers/automatic",
            form_fields(asked.text, "/integrations/connectwise/mappings/customers/automatic"),
        )
        assert done.status_code == 303
        shown = await client.get(done.headers["location"])
        assert (
            "Green Lane LLC is automatic again: matched by name to ConnectWise company "
            "Green Lane LLC (#250)." in text_of(shown.text)
        )
        assert "Automatic (by name)" in _row(shown.text, "Green Lane LLC")

        done = await client.post(
            f"{MAPPINGS}/products/automatic",
            data={"csrf_token": token, "mpn": "M365-BUS-STD", "confirmed": "1"},
        )
        assert done.status_code == 303
        shown = await client.get(done.headers["location"])
        assert (
            "M365-BUS-STD is automatic again: matched by MPN to catalog item M365-BUS-STD (#301)"
            in text_of(shown.text)
        )
        assert "Automatic (by MPN)" in _row(shown.text, "M365-BUS-STD")

        # Only a mapping by hand goes back; anything else is refused and nothing changes.
        again = await client.post(
            f"{MAPPINGS}/products/automatic",
            data={"csrf_token": token, "mpn": "M365-BUS-STD", "confirmed": "1"},
        )
        assert again.status_code == 422
        assert "M365-BUS-STD is not mapped by hand" in text_of(again.text)


async def test_back_to_automatic_without_a_single_match_leaves_the_customer_unmapped(
    world: World,
) -> None:
    async with browser(world) as client:
        await ready(client)
        page = await client.get(MAPPINGS)
        token = csrf_of(page.text)
        await client.post(
            f"{MAPPINGS}/customers",
            data={"csrf_token": token, "customer_id": "1000048541", "company_id": "260"},
        )
        done = await client.post(
            f"{MAPPINGS}/customers/automatic",
            data={"csrf_token": token, "customer_id": "1000048541", "confirmed": "1"},
        )
        assert done.status_code == 303
        shown = await client.get(done.headers["location"])
        assert "Willow Creek Farms is automatic again, and not mapped" in text_of(shown.text)
        assert "Not mapped" in _row(shown.text, "Willow Creek Farms")


async def test_a_wrong_client_id_is_reported_as_refused_not_unreachable(world: World) -> None:
    async with browser(world) as client:
        await log_in(client)
        page = await client.get(SETTINGS)
        refused = await client.post(
            SETTINGS,
            data={
                "csrf_token": csrf_of(page.text),
                "site_url": CONNECTWISE["siteUrl"],
                "company_id": CONNECTWISE["companyId"],
                "public_key": CONNECTWISE["publicKey"],
                "private_key": CONNECTWISE["privateKey"],
                "client_id": "not-the-registered-client-id",
            },
        )
        shown = text_of(refused.text)
        assert refused.status_code == 422
        assert "refused these settings: check the company ID and the client ID" in shown
        assert "could not be reached" not in shown and "did not answer" not in shown
        # What was typed comes back (the private key never does): only it is entered again.
        assert 'value="not-the-registered-client-id"' in refused.text
        assert CONNECTWISE["privateKey"] not in refused.text
        assert "Not sent back to the page: enter it again." in shown
