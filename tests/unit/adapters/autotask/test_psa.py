"""The Autotask port against a scripted Autotask: picklists by label, the domain mapping, and
writes decided by the units at the effective date (DESIGN §11)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest

from psasync.adapters.autotask import (
    AdjustmentConflict,
    AdjustmentExpectation,
    AdjustmentOutcome,
    AdjustmentOutcomeUnknown,
    AutotaskDataError,
    decide,
)
from psasync.adapters.autotask.keys import mark_description, read_mark
from psasync.domain.agreements import AgreementStatus, BillCustomer, ProductRef
from psasync.domain.billing import BillingCycle
from psasync.domain.money import Currency
from psasync.domain.plan import Action, AdditionKind, PlannedAddition, PriceSource
from tests.unit.adapters.autotask.fake import FakeAutotask, psa_for

pytestmark = pytest.mark.anyio
USD = Currency("USD")
DAY = dt.date(2026, 11, 15)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def seeded() -> FakeAutotask:
    fake = FakeAutotask()
    fake.add("Currencies", id=1, name="USD", isInternalCurrency=True)
    fake.add("Currencies", id=2, name="EUR", isInternalCurrency=False)
    fake.add("Companies", id=250, companyName="Green Lane LLC", companyNumber="GL", currencyID=2)
    fake.add("Companies", id=251, companyName="Blue Sky", companyNumber="BS", currencyID=None)
    contract = {"companyID": 250, "status": 91, "startDate": "2026-01-01T00:00:00"}
    fake.add(
        "Contracts", id=7, contractName="M365", contractType=47, contractPeriodType=62, **contract
    )
    fake.add(
        "Contracts", id=8, contractName="T&M", contractType=41, contractPeriodType=60, **contract
    )
    fake.add("Contracts", id=9, contractName="Old", contractType=47, contractPeriodType=63,
             companyID=251, status=90, startDate="2025-01-01T00:00:00")  # fmt: skip
    fake.add("Services", id=301, name="Business Standard", sku="M365-BUS-STD", unitPrice=12,
             unitCost=9, isActive=True)  # fmt: skip
    for start, end, posted in (
        ("2025-01-01", "2025-12-31", "2026-01-05"),
        ("2026-01-01", None, None),
    ):
        fake.add("ContractServiceUnits", id=len(fake.entities.get("ContractServiceUnits", [])) + 1,
                 contractID=9, contractServiceID=90, serviceID=301, units=2,
                 startDate=f"{start}T00:00:00", endDate=end and f"{end}T00:00:00",
                 approveAndPostDate=posted)  # fmt: skip
    return fake


def action(kind: AdditionKind = AdditionKind.RECURRING, **changes: object) -> PlannedAddition:
    planned = PlannedAddition(
        action=Action.CREATE,
        kind=kind,
        key="task:7:line1:recurring",
        line=1,
        product=ProductRef(id=301, identifier="M365-BUS-STD"),
        mpn="M365-BUS-STD",
        description="Business Standard seats",
        quantity=Decimal(3),
        unit_price=Decimal(12),
        unit_cost=Decimal(9),
        effective_date=DAY,
        cancelled_date=None,
        bill_customer=BillCustomer.BILLABLE,
        taxable=False,
        price_source=PriceSource.MARKETPLACE,
    )
    return replace(planned, **changes)  # type: ignore[arg-type]


async def test_agreements_are_recurring_service_contracts_read_by_picklist_label() -> None:
    fake = seeded()
    psa, http = psa_for(fake)
    async with http:
        (agreement,) = await psa.agreements_of(250, default_currency=USD)
        old = await psa.agreement(9, default_currency=USD)
        other = await psa.agreement(8, default_currency=USD)
    assert agreement.id == 7 and agreement.company_id == 250
    assert agreement.billing_cycle is BillingCycle.SEMIANNUAL
    assert agreement.status is AgreementStatus.ACTIVE and agreement.currency == Currency("EUR")
    assert agreement.bill_start_date == dt.date(2026, 1, 1) and agreement.invoiced_through is None
    assert old.billing_cycle is BillingCycle.YEARLY and old.status is AgreementStatus.INACTIVE
    assert old.currency == USD and old.invoiced_through == dt.date(2025, 12, 31)
    assert other.billing_cycle is None  # not Recurring Service: bills no cycle
    query = json.loads(next(r.content for r in fake.requests if "Contracts/query" in str(r.url)))
    assert {"op": "eq", "field": "contractType", "value": 47} in query["Filter"]
    reads = [r for r in fake.requests if "entityInformation" in str(r.url)]
    assert len(reads) == 1  # picklists read once per client


async def test_a_label_the_database_lacks_is_a_clear_error() -> None:
    fake = seeded()
    psa, http = psa_for(fake)
    async with http:
        with pytest.raises(AutotaskDataError, match="no value labelled 'Weekly'"):
            await psa.client.picklists.value("Contracts", "contractPeriodType", "Weekly")


async def test_a_create_is_an_adjustment_of_its_quantity_and_reads_back_as_a_line() -> None:
    fake = seeded()
    psa, http = psa_for(fake)
    async with http:
        line_id = await psa.apply(7, action())
        (line,) = await psa.lines(7)
        assert await psa.units_at(7, 301, DAY) == 3
        assert await psa.units_at(7, 301, DAY - dt.timedelta(days=1)) == 0
    (adjustment,) = fake.adjustments
    assert adjustment == {
        "contractID": 7,
        "serviceID": 301,
        "effectiveDate": "2026-11-15T00:00:00",
        "unitChange": 3,
        "adjustedUnitPrice": 12,
        "adjustedUnitCost": 9,
    }
    assert line.id == line_id and line.quantity == 3 and line.effective_date == DAY
    assert line.product == ProductRef(id=301, identifier="M365-BUS-STD")
    assert line.sync_key is None and line.cancelled_date is None


async def test_updates_and_cancels_aim_at_units_so_repeating_them_sends_nothing() -> None:
    fake = seeded()
    psa, http = psa_for(fake)
    async with http:
        line_id = await psa.apply(7, action())
        update = action(action=Action.UPDATE, addition_id=line_id, quantity=Decimal(5))
        cancel = action(
            action=Action.CANCEL, addition_id=line_id, cancelled_date=DAY + dt.timedelta(days=9)
        )
        for planned in (update, update, cancel, cancel):
            assert await psa.apply(7, planned) == line_id
        (line,) = await psa.lines(7)
    assert [a["unitChange"] for a in fake.adjustments] == [3, 2, -5]
    assert fake.adjustments[-1]["effectiveDate"] == "2026-11-25T00:00:00"
    assert "adjustedUnitPrice" not in fake.adjustments[-1]
    assert (line.quantity, line.effective_date, line.cancelled_date) == (
        Decimal(5),
        DAY,
        DAY + dt.timedelta(days=9),
    )


def lose_adjustments(fake: FakeAutotask, *, apply: bool) -> None:
    async def hook(request: httpx.Request) -> httpx.Response | None:
        if "ServiceAdjustments" not in request.url.path:
            return None
        if apply:
            fake.adjust(json.loads(request.content))
        raise httpx.ReadTimeout("no answer", request=request)

    fake.hooks.append(hook)


async def test_a_lost_adjustment_that_shows_in_the_units_is_applied() -> None:
    fake = seeded()
    lose_adjustments(fake, apply=True)
    psa, http = psa_for(fake)
    async with http:
        line_id = await psa.apply(7, action())
        assert [line.id for line in await psa.lines(7)] == [line_id]
    assert len(fake.adjustments) == 1


async def test_a_lost_adjustment_that_does_not_show_is_unknown_with_its_expectation() -> None:
    fake = seeded()
    lose_adjustments(fake, apply=False)
    psa, http = psa_for(fake)
    async with http:
        with pytest.raises(AdjustmentOutcomeUnknown) as caught:
            await psa.apply(7, action())
        expected = caught.value.expectation
        assert expected == AdjustmentExpectation(7, 301, DAY, Decimal(0), Decimal(3))
        assert await psa.adjustment_outcome(expected) is AdjustmentOutcome.NOT_APPLIED
        fake.hooks.clear()
        fake.adjust(
            {
                "contractID": 7,
                "serviceID": 301,
                "effectiveDate": "2026-11-15T00:00:00",
                "unitChange": 3,
            }
        )
        assert await psa.adjustment_outcome(expected) is AdjustmentOutcome.APPLIED
    posts = [r for r in fake.requests if "ServiceAdjustments" in r.url.path]
    assert len(posts) == 1  # never re-posted blindly


async def test_units_that_fit_neither_outcome_are_a_conflict_naming_both_numbers() -> None:
    expectation = AdjustmentExpectation(7, 301, DAY, before=Decimal(4), change=Decimal(2))
    assert decide(expectation, Decimal(6)) is AdjustmentOutcome.APPLIED
    assert decide(expectation, Decimal(4)) is AdjustmentOutcome.NOT_APPLIED
    with pytest.raises(AdjustmentConflict, match=r"shows 9 units.*4 before.*\+2.*6 after"):
        decide(expectation, Decimal(9))


async def test_the_expectation_is_read_before_the_write() -> None:
    fake = seeded()
    psa, http = psa_for(fake)
    async with http:
        first = await psa.expectation(7, action())
        line_id = await psa.apply(7, action())
        update = action(action=Action.UPDATE, addition_id=line_id, quantity=Decimal(5))
        second = await psa.expectation(7, update)
        await psa.apply(7, update)
        assert await psa.expectation(7, update) is None  # nothing left to adjust
        assert await psa.expectation(7, action(kind=AdditionKind.ONE_TIME)) is None
    assert first == AdjustmentExpectation(7, 301, DAY, Decimal(0), Decimal(3))
    assert second == AdjustmentExpectation(7, 301, DAY, Decimal(3), Decimal(2))


async def test_a_one_time_line_is_a_charge_keyed_in_its_description() -> None:
    fake = seeded()
    psa, http = psa_for(fake)
    setup = action(kind=AdditionKind.ONE_TIME, key="task:7:line2:one_time", description="Setup",
                   cancelled_date=DAY)  # fmt: skip
    async with http:
        charge_id = await psa.apply(7, setup)
        found = await psa.find_line_by_key(7, setup.key)
        assert await psa.find_line_by_key(7, "task:7:line2:one") is None
    (charge,) = fake.entities["ContractCharges"]
    assert charge["description"] == "Setup [psasync task:7:line2:one_time service:301]"
    assert (charge["name"], charge["datePurchased"], charge["isBillableToCompany"]) == (
        "Setup",
        "2026-11-15T00:00:00",
        True,
    )
    assert found is not None and found.id == charge_id and found.sync_key == setup.key
    assert (found.description, found.invoice_description, found.product.id) == (
        "Setup",
        "Setup",
        301,
    )


async def test_a_lost_charge_create_is_found_by_its_key_not_posted_again() -> None:
    fake = seeded()

    async def lose(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and request.url.path.endswith("/Charges"):
            fake.route(request, request.url.path.split("/v1.0/")[-1].split("/"))
            raise httpx.RemoteProtocolError("dropped", request=request)
        return None

    fake.hooks.append(lose)
    psa, http = psa_for(fake)
    async with http:
        found = await psa.apply(7, action(kind=AdditionKind.ONE_TIME, key="task:7:line2:one_time"))
    assert found == fake.entities["ContractCharges"][0]["id"]
    assert len(fake.entities["ContractCharges"]) == 1


def test_the_mark_is_exact() -> None:
    marked = mark_description(
        "Setup [psasync task:1:line1:one_time]", "task:7:line2:one_time", service_id=5
    )
    assert marked == "Setup [psasync task:7:line2:one_time service:5]"
    mark = read_mark(marked)
    assert mark is not None and (mark.key, mark.service_id) == ("task:7:line2:one_time", 5)
    assert read_mark("Setup [psasync task:7:line2:one_time] extra") is None
    with pytest.raises(ValueError, match="idempotency key"):
        mark_description("x", "not a key")


async def test_a_delete_after_a_cancel_reverses_the_later_change_first() -> None:
    fake = seeded()
    psa, http = psa_for(fake)
    async with http:
        line_id = await psa.apply(7, action())
        cancelled = DAY + dt.timedelta(days=9)
        await psa.apply(
            7, action(action=Action.CANCEL, addition_id=line_id, cancelled_date=cancelled)
        )
        delete = action(action=Action.DELETE, addition_id=line_id)
        await psa.apply(7, delete)
        await psa.apply(7, delete)  # nothing left to adjust
        for day in (DAY, cancelled, cancelled + dt.timedelta(days=30)):
            assert await psa.units_at(7, 301, day) == 0
    changes = [(a["effectiveDate"][:10], a["unitChange"]) for a in fake.adjustments]
    assert changes == [
        ("2026-11-15", 3),
        ("2026-11-25", -3),
        ("2026-11-25", 3),  # the cancel reversed first: units never go below 0
        ("2026-11-15", -3),
    ]
