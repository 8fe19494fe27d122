"""Sync through the REST API: applied once, journalled, refused with nothing written, resumed
after a crash or a vendor failure without writing anything twice, and scoped to one reseller."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from psasync.domain.agreements import Addition
from psasync.sandbox.faults import FaultSettings
from psasync.services import sync as sync_service
from tests.e2e.conftest import CONTOSO, World, task_id
from tests.e2e.test_api_flow import GREEN_LANE_MANAGED, error_of

pytestmark = pytest.mark.anyio

ADDITIONS_PATH = "/v4_6_release/apis/3.0/finance/agreements"


async def sync(
    client: httpx.AsyncClient, task: int, agreement: int = GREEN_LANE_MANAGED, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/connectwise/tasks/{task}/sync", json={"agreementId": agreement, **body}
    )


def keyed(additions: list[Addition]) -> list[str]:
    return sorted(a.sync_key for a in additions if a.sync_key)


async def history(client: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await client.get("/api/v1/connectwise/history")).json())


async def test_sync_applies_the_plan_once_and_a_repeat_is_409(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        before = await world.additions(GREEN_LANE_MANAGED)
        answer = await sync(client, task)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["task"]["status"] == "synced"
        assert result["task"]["agreementId"] == GREEN_LANE_MANAGED
        assert (result["proratedAmount"], result["recurringAmount"]) == (
            "16.66",
            {"before": "157.00", "after": "182.00"},
        )
        assert [a["outcome"] for a in result["run"]["actions"]] == ["applied"] * 3
        after = await world.additions(GREEN_LANE_MANAGED)
        assert len(after) == len(before) + 2
        assert keyed(after) == [f"task:{task}:line1:prorate", f"task:{task}:line1:recurring"]
        cancelled = next(a for a in after if a.id == result["run"]["actions"][0]["additionId"])
        assert cancelled.cancelled_date is not None and cancelled.cancelled_date.isoformat() == (
            "2026-11-30"
        )

        again = await sync(client, task)
        assert again.status_code == 409
        assert error_of(again)["code"] == "TaskSynced"
        assert await world.additions(GREEN_LANE_MANAGED) == after

        trail = await history(client)
        assert trail["total"] == 1
        entry = trail["items"][0]
        assert (entry["user"], entry["outcome"]) == ("demo@northwind-it.example", "succeeded")
        assert entry["task"]["title"] == "Green Lane LLC 1000048531 — Change Order"
        listed = (await client.get(f"/api/v1/connectwise/tasks/{task}")).json()
        assert listed["status"] == "synced"


async def test_edited_additions_are_applied_as_reviewed(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        plan = (
            await client.post(
                f"/api/v1/connectwise/tasks/{task}/preview",
                json={"agreementId": GREEN_LANE_MANAGED},
            )
        ).json()
        edited = [dict(a) for a in plan["additions"]]
        edited[2]["description"] = "Two more seats, 11–30 Nov"
        edited[2]["billCustomer"] = "NoCharge"
        preview = await client.post(
            f"/api/v1/connectwise/tasks/{task}/preview",
            json={"agreementId": GREEN_LANE_MANAGED, "additions": edited},
        )
        assert preview.json()["proratedAmount"] == "0.00", "a NoCharge prorate bills nothing"
        answer = await sync(client, task, additions=edited)
        assert answer.status_code == 200, answer.text
        prorate = next(
            a
            for a in await world.additions(GREEN_LANE_MANAGED)
            if a.sync_key == f"task:{task}:line1:prorate"
        )
        assert prorate.invoice_description == "Two more seats, 11–30 Nov"
        assert prorate.bill_customer.value == "NoCharge"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"unitPrice": "-1.00"}, "unitPrice"),
        ({"description": ""}, "description"),
        ({"effectiveDate": "2026-12-15"}, "effectiveDate"),
        ({"key": "task:999:line1:prorate"}, "key"),
    ],
)
async def test_invalid_edits_are_422_with_field_errors_and_nothing_written(
    world: World, change: dict[str, str], field: str
) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        plan = (
            await client.post(
                f"/api/v1/connectwise/tasks/{task}/preview",
                json={"agreementId": GREEN_LANE_MANAGED},
            )
        ).json()
        edited = [dict(a) for a in plan["additions"]]
        edited[2].update(change)
        before = await world.additions(GREEN_LANE_MANAGED)
        answer = await sync(client, task, additions=edited)
        assert answer.status_code == 422, answer.text
        error = error_of(answer)
        assert error["code"] == "InvalidAdditions"
        assert field in {problem["field"] for problem in error["details"]["fieldErrors"]}
        assert await world.additions(GREEN_LANE_MANAGED) == before
        assert (await history(client))["total"] == 0
        status = (await client.get(f"/api/v1/connectwise/tasks/{task}")).json()["status"]
        assert status == "new"
        assert (await sync(client, task)).status_code == 200, "the task is not left claimed"


async def test_malformed_bodies_are_422_naming_the_field(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        answer = await client.post(
            f"/api/v1/connectwise/tasks/{task}/sync",
            json={"agreementId": "x", "priceSource": "cheapest"},
        )
        assert answer.status_code == 422
        fields = {p["field"] for p in error_of(answer)["details"]["fieldErrors"]}
        assert fields == {"agreementId", "priceSource"}


async def test_an_ineligible_agreement_is_422_with_reasons_and_nothing_written(
    world: World,
) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        before = await world.additions(1203)
        answer = await sync(client, task, agreement=1203)
        assert answer.status_code == 422
        error = error_of(answer)
        assert error["code"] == "IneligibleAgreement"
        assert [r["code"] for r in error["details"]["reasons"]] == ["WrongCurrency"]
        assert await world.additions(1203) == before
        preview = await client.post(
            f"/api/v1/connectwise/tasks/{task}/preview", json={"agreementId": 1202}
        )
        assert preview.status_code == 422
        other_company = await sync(client, task, agreement=1211)
        assert error_of(other_company)["details"]["reasons"][0]["code"] == "OtherCompany"


async def test_a_crash_between_two_actions_then_a_retry_writes_nothing_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_record = sync_service._Applier._record
    recorded = 0

    async def crash_after_the_second_write(*args: Any, **kwargs: Any) -> None:
        nonlocal recorded
        recorded += 1
        if recorded == 2:  # the create reached ConnectWise; the journal never heard of it
            raise KeyboardInterrupt("the process died")
        await real_record(*args, **kwargs)

    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        before = await world.additions(GREEN_LANE_MANAGED)
        monkeypatch.setattr(sync_service._Applier, "_record", crash_after_the_second_write)
        with pytest.raises(KeyboardInterrupt):
            await sync(client, task)
        monkeypatch.setattr(sync_service._Applier, "_record", real_record)
        half = await world.additions(GREEN_LANE_MANAGED)
        assert keyed(half) == [f"task:{task}:line1:recurring"]
        state = (await client.get(f"/api/v1/connectwise/tasks/{task}")).json()
        assert state["status"] == "failed" and "interrupted" in state["error"]

        answer = await sync(client, task)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["run"]["resumed"] is True
        assert [a["outcome"] for a in result["run"]["actions"]] == [
            "applied",
            "found_applied",
            "applied",
        ]
        after = await world.additions(GREEN_LANE_MANAGED)
        assert len(after) == len(before) + 2
        assert keyed(after) == [f"task:{task}:line1:prorate", f"task:{task}:line1:recurring"]
        assert result["proratedAmount"] == "16.66"


async def test_a_vendor_outage_mid_sync_fails_the_task_and_a_retry_finishes_it(
    world: World,
) -> None:
    async with world.ready() as client:
        task = await task_id(client, "SO0000392")  # Cedar Ridge: three creates
        before = await world.additions(1221)
        # The second create's answers never arrive, on every attempt; ConnectWise acted though.
        world.sandbox.faults.configure(
            FaultSettings(rate_5xx=1.0, path_prefix=ADDITIONS_PATH, methods=frozenset({"POST"}))
        )
        answer = await sync(client, task, agreement=1221)
        world.sandbox.faults.configure(FaultSettings())
        assert answer.status_code == 502
        error = error_of(answer)
        assert error["code"] == "SyncFailed" and error["details"]["applied"] == 0
        state = (await client.get(f"/api/v1/connectwise/tasks/{task}")).json()
        assert state["status"] == "failed"
        assert await world.additions(1221) == before

        answer = await sync(client, task, agreement=1221)
        assert answer.status_code == 200, answer.text
        assert len(await world.additions(1221)) == len(before) + 3
        # The create's answer never came: it may have landed, so the same run is resumed (its
        # key looked for first), never planned afresh.
        assert answer.json()["run"]["resumed"] is True
        trail = await history(client)
        assert [item["outcome"] for item in trail["items"]] == ["succeeded"]


async def test_dropped_answers_during_sync_never_duplicate_an_addition(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "SO0000392")
        before = await world.additions(1221)
        world.sandbox.faults.configure(
            FaultSettings(
                rate_drop=0.5, seed=7, path_prefix=ADDITIONS_PATH, methods=frozenset({"POST"})
            )
        )
        answer = await sync(client, task, agreement=1221)
        world.sandbox.faults.configure(FaultSettings())
        assert answer.status_code == 200, answer.text
        after = await world.additions(1221)
        assert len(after) == len(before) + 3
        assert len(set(keyed(after))) == 3


async def test_an_interrupted_sync_must_be_finished_on_its_agreement(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_record = sync_service._Applier._record

    async def crash(*args: Any, **kwargs: Any) -> None:
        await real_record(*args, **kwargs)
        raise KeyboardInterrupt("the process died")

    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        monkeypatch.setattr(sync_service._Applier, "_record", crash)
        with pytest.raises(KeyboardInterrupt):
            await sync(client, task)
        monkeypatch.setattr(sync_service._Applier, "_record", real_record)
        answer = await sync(client, task, agreement=1202)
        assert answer.status_code == 409
        assert error_of(answer)["code"] == "SyncInterrupted"


async def test_a_task_being_synced_cannot_be_synced_or_ignored_again(world: World) -> None:
    from psasync.store import tasks as task_store

    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        now = world.services.now()
        async with world.services.db.session() as session:
            claimed = await task_store.claim_task(
                session,
                1,
                task,
                token="another-run",
                now=now,
                until=now + world.services.sync_lease,
            )
        assert claimed
        assert error_of(await sync(client, task))["code"] == "TaskBusy"
        ignore = await client.post(f"/api/v1/connectwise/tasks/{task}/ignore")
        assert ignore.status_code == 409


async def test_ignored_tasks_are_not_synced_until_unignored(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000418")
        ignored = await client.post(f"/api/v1/connectwise/tasks/{task}/ignore")
        assert ignored.json()["status"] == "ignored"
        listing = (await client.get("/api/v1/connectwise/tasks?status=ignored")).json()
        assert [item["id"] for item in listing["items"]] == [task]
        assert error_of(await sync(client, task, agreement=1211))["code"] == "TaskIgnored"
        back = await client.post(f"/api/v1/connectwise/tasks/{task}/unignore")
        assert back.json()["status"] == "new"
        assert (await sync(client, task, agreement=1211)).status_code == 200
        assert (await client.post(f"/api/v1/connectwise/tasks/{task}/ignore")).status_code == 409


async def test_another_reseller_sees_none_of_it(world: World) -> None:
    async with world.ready() as northwind:
        task = await task_id(northwind, "CH0000417")
        assert (await sync(northwind, task)).status_code == 200
    async with world.login(CONTOSO) as contoso:
        listing = (await contoso.get("/api/v1/connectwise/tasks")).json()
        assert listing == {"items": [], "total": 0}
        for method, path in [
            ("GET", f"/api/v1/connectwise/tasks/{task}"),
            ("GET", f"/api/v1/connectwise/tasks/{task}/agreements"),
            ("POST", f"/api/v1/connectwise/tasks/{task}/preview"),
            ("POST", f"/api/v1/connectwise/tasks/{task}/sync"),
            ("POST", f"/api/v1/connectwise/tasks/{task}/ignore"),
        ]:
            answer = await contoso.request(method, path, json={"agreementId": GREEN_LANE_MANAGED})
            assert answer.status_code == 404, (method, path, answer.text)
            assert "Green Lane" not in answer.text
        assert (await history(contoso))["total"] == 0
        tiles = (await contoso.get("/api/v1/integrations")).json()
        assert tiles[0]["state"] == "not_configured"
        assert (await contoso.get("/api/v1/connectwise/mappings/customers")).json() == []


async def test_willow_creek_is_mapped_by_hand_then_synced(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "SO0000395")
        answer = await client.get(f"/api/v1/connectwise/tasks/{task}/agreements")
        assert answer.status_code == 422
        assert error_of(answer)["code"] == "CustomerNotMapped"
        mappings = (await client.get("/api/v1/connectwise/mappings/customers")).json()
        willow = next(m for m in mappings if m["customerName"] == "Willow Creek Farms")
        assert willow["companyId"] is None
        green = next(m for m in mappings if m["customerName"] == "Green Lane LLC")
        assert (green["companyId"], green["source"]) == (250, "automatic")
        bad = await client.put(
            "/api/v1/connectwise/mappings/customers",
            json=[{"customerId": willow["customerId"], "companyId": 999999}],
        )
        assert bad.status_code == 422 and error_of(bad)["code"] == "UnknownCompany"
        mapped = await client.put(
            "/api/v1/connectwise/mappings/customers",
            json=[{"customerId": willow["customerId"], "companyId": 260}],
        )
        row = next(m for m in mapped.json() if m["customerId"] == willow["customerId"])
        assert (row["companyId"], row["source"]) == (260, "manual")
        found = (await client.get(f"/api/v1/connectwise/tasks/{task}/agreements")).json()
        assert [(a["id"], a["eligible"]) for a in found] == [(1301, True)]
        assert (await sync(client, task, agreement=1301)).status_code == 200


async def test_product_mappings_are_checked_against_the_catalog(world: World) -> None:
    async with world.ready() as client:
        bad = await client.put(
            "/api/v1/connectwise/mappings/products",
            json=[{"mpn": "M365-BUS-STD", "catalogItemId": 999999}],
        )
        assert bad.status_code == 422
        good = await client.put(
            "/api/v1/connectwise/mappings/products",
            json=[{"mpn": "M365-BUS-STD", "catalogItemId": 301}],
        )
        row = next(m for m in good.json() if m["mpn"] == "M365-BUS-STD")
        assert (row["catalogItemId"], row["source"]) == (301, "manual")


async def test_form_posts_need_the_csrf_token_and_other_origins_are_refused(
    world: World,
) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000418")
        forged = await client.post(
            f"/api/v1/connectwise/tasks/{task}/ignore", data={"csrf_token": "guess"}
        )
        assert forged.status_code == 403 and error_of(forged)["code"] == "CsrfFailed"
        cross = await client.post(
            f"/api/v1/connectwise/tasks/{task}/ignore",
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        token = (await client.get("/api/v1/auth/session")).json()["csrfToken"]
        ok = await client.post(
            f"/api/v1/connectwise/tasks/{task}/ignore", data={"csrf_token": token}
        )
        assert ok.status_code == 200


async def test_the_openapi_document_describes_the_api(world: World) -> None:
    async with world.client() as client:
        document = (await client.get("/api/v1/openapi.json")).json()
    paths = document["paths"]
    for path in [
        "/api/v1/auth/login",
        "/api/v1/integrations/connectwise",
        "/api/v1/connectwise/check-changes",
        "/api/v1/connectwise/tasks/{task_id}/preview",
        "/api/v1/connectwise/tasks/{task_id}/sync",
        "/api/v1/connectwise/mappings/customers",
        "/api/v1/connectwise/history",
    ]:
        assert path in paths, path
    sync_answers = paths["/api/v1/connectwise/tasks/{task_id}/sync"]["post"]["responses"]
    assert {"200", "401", "404", "409", "422", "502"} <= set(sync_answers)


async def test_unknown_paths_answer_in_the_error_envelope(world: World) -> None:
    async with world.client() as client:
        answer = await client.get("/api/v1/nothing-here")
        assert answer.status_code == 404
        assert error_of(answer)["code"] == "NotFound"
