"""The PSA port's contract: every PSA adapter passes these, or it is not done (DESIGN §10).

Stated PSA-neutrally: a one-time line (setup fee, usage) carries psasync's key and is found by
it in every PSA; a recurring line carries it where the PSA keeps one (ConnectWise does, an
Autotask contract service cannot: one service per contract gathers every order's units), so
recurring lines are found by the id ``apply`` returns. A deleted recurring line bills nothing
afterwards; whether it disappears (ConnectWise) or lingers with no units (Autotask cannot remove
a contract service) is the PSA's. Taxability is left out: Autotask taxes by billing code, not per
line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from psasync.adapters.http import AdapterError, OutcomeUnknown, VendorNotFound
from psasync.domain.agreements import Addition, BillCustomer, ProductRef
from psasync.domain.keys import written_differences
from psasync.domain.money import Currency
from psasync.domain.plan import Action, AdditionKind, PlannedAddition, PriceSource
from tests.contract.psa import PsaUnderTest

pytestmark = pytest.mark.anyio

UNKNOWN = 2_000_000_000


def create(psa: PsaUnderTest, *, key: str, quantity: str = "3") -> PlannedAddition:
    return PlannedAddition(
        action=Action.CREATE,
        kind=AdditionKind.RECURRING,
        key=key,
        line=1,
        product=ProductRef(id=psa.item_id, identifier=psa.item_mpn),
        mpn=psa.item_mpn,
        description="Contract suite seats",
        quantity=Decimal(quantity),
        unit_price=Decimal("12.505"),
        unit_cost=Decimal("9.10"),
        effective_date=psa.day,
        cancelled_date=None,
        bill_customer=BillCustomer.BILLABLE,
        taxable=False,
        price_source=PriceSource.MARKETPLACE,
    )


def one_time(psa: PsaUnderTest, *, key: str, quantity: str = "1") -> PlannedAddition:
    """A setup fee: billed once, on its day."""
    return replace(
        create(psa, key=key, quantity=quantity),
        kind=AdditionKind.ONE_TIME,
        description="Contract suite setup",
        cancelled_date=psa.day,
    )


async def line_of(psa: PsaUnderTest, line_id: int) -> Addition:
    (line,) = [line for line in await psa.port.lines(psa.agreement_id) if line.id == line_id]
    return line


async def test_credentials_are_checked(psa: PsaUnderTest) -> None:
    await psa.port.check_credentials()
    with pytest.raises(AdapterError):
        await psa.refused.check_credentials()
    assert psa.port.vendor


async def test_companies_are_listed_found_and_read(psa: PsaUnderTest) -> None:
    everyone = await psa.port.companies()
    assert psa.company_id in {company.id for company in everyone}
    (named,) = await psa.port.companies(name=psa.company_name)
    assert (named.id, named.name) == (psa.company_id, psa.company_name)
    assert await psa.port.company(psa.company_id) == named
    word = psa.company_name.split()[0]
    found = await psa.port.find_companies(word, limit=2)
    assert psa.company_id in {company.id for company in found} and len(found) <= 2
    with pytest.raises(VendorNotFound):
        await psa.port.company(UNKNOWN)


async def test_agreements_carry_what_eligibility_needs(psa: PsaUnderTest) -> None:
    currency = Currency(psa.currency)
    agreements = await psa.port.agreements_of(psa.company_id, default_currency=currency)
    ours = {agreement.id: agreement for agreement in agreements}
    assert psa.agreement_id in ours
    one = await psa.port.agreement(psa.agreement_id, default_currency=currency)
    assert one == ours[psa.agreement_id]
    assert one.company_id == psa.company_id and one.currency == currency
    assert one.billing_cycle is not None
    with pytest.raises(VendorNotFound):
        await psa.port.agreement(UNKNOWN, default_currency=currency)


async def test_agreements_of_many_companies_are_read_together(psa: PsaUnderTest) -> None:
    currency = Currency(psa.currency)
    alone = await psa.port.agreements_of(psa.company_id, default_currency=currency)
    together = await psa.port.agreements_of_companies(
        [psa.company_id, UNKNOWN, psa.company_id], default_currency=currency
    )
    assert sorted(together, key=lambda a: a.id) == sorted(alone, key=lambda a: a.id)
    assert await psa.port.agreements_of_companies([UNKNOWN], default_currency=currency) == []
    assert await psa.port.agreements_of_companies([], default_currency=currency) == []


async def test_lines_of_many_agreements_are_read_by_agreement(psa: PsaUnderTest) -> None:
    line_id = await psa.port.apply(psa.agreement_id, create(psa, key="task:8:line1:recurring"))
    found = await psa.port.lines_of([psa.agreement_id, psa.invoiced_agreement_id])
    assert set(found) == {psa.agreement_id, psa.invoiced_agreement_id}
    assert found[psa.agreement_id] == await psa.port.lines(psa.agreement_id)
    assert line_id in {line.id for line in found[psa.agreement_id]}
    assert found[psa.invoiced_agreement_id] == await psa.port.lines(psa.invoiced_agreement_id)
    assert await psa.port.lines_of([]) == {}


async def test_an_invoiced_agreement_says_through_when(psa: PsaUnderTest) -> None:
    invoiced = await psa.port.agreement(
        psa.invoiced_agreement_id, default_currency=Currency(psa.currency)
    )
    assert invoiced.invoiced_through == psa.invoiced_through
    fresh = await psa.port.agreement(psa.agreement_id, default_currency=Currency(psa.currency))
    assert fresh.invoiced_through is None or fresh.invoiced_through < psa.day


async def test_catalog_items_are_read_by_id_mpn_and_text(psa: PsaUnderTest) -> None:
    item = await psa.port.catalog_item(psa.item_id)
    assert item.id == psa.item_id
    assert item in await psa.port.catalog_by_mpn(psa.item_mpn)
    found = await psa.port.find_catalog_items(psa.item_word, limit=5)
    assert psa.item_id in {candidate.id for candidate in found} and len(found) <= 5
    with pytest.raises(VendorNotFound):
        await psa.port.catalog_item(UNKNOWN)


async def test_a_create_is_written_with_its_key_and_every_value(psa: PsaUnderTest) -> None:
    action = one_time(psa, key="task:7:line2:one_time")
    line_id = await psa.port.apply(psa.agreement_id, action)
    line = await line_of(psa, line_id)
    assert line.sync_key == action.key
    assert written_differences(action, line) == ()
    assert await psa.port.find_line_by_key(psa.agreement_id, action.key) == line


async def test_a_recurring_create_bills_every_value_from_its_day(psa: PsaUnderTest) -> None:
    action = create(psa, key="task:7:line1:recurring")
    line_id = await psa.port.apply(psa.agreement_id, action)
    line = await line_of(psa, line_id)
    assert written_differences(action, line) == ()
    assert line.sync_key in (action.key, None)  # where the PSA keeps a key on such a line


async def test_keys_are_told_apart_exactly(psa: PsaUnderTest) -> None:
    first = await psa.port.apply(psa.agreement_id, one_time(psa, key="task:7:line1:one_time"))
    other = await psa.port.apply(psa.agreement_id, one_time(psa, key="task:7:line11:one_time"))
    found = await psa.port.find_line_by_key(psa.agreement_id, "task:7:line1:one_time")
    assert found is not None and found.id == first != other
    assert await psa.port.find_line_by_key(psa.agreement_id, "task:7:line2:one_time") is None


async def test_updates_cancels_and_deletes_are_written_and_idempotent(psa: PsaUnderTest) -> None:
    written = create(psa, key="task:8:line1:recurring")
    line_id = await psa.port.apply(psa.agreement_id, written)
    update = replace(
        written,
        action=Action.UPDATE,
        key="task:8:line1:update",
        addition_id=line_id,
        quantity=Decimal(5),
        unit_price=Decimal("14.00"),
    )
    cancel = replace(
        written,
        action=Action.CANCEL,
        key="task:8:line1:cancel",
        addition_id=line_id,
        cancelled_date=psa.day + dt.timedelta(days=10),
    )
    for action in (update, update, cancel, cancel):
        assert await psa.port.apply(psa.agreement_id, action) == line_id
        assert written_differences(action, await line_of(psa, line_id)) == ()
    delete = replace(written, action=Action.DELETE, key="task:8:line1:delete", addition_id=line_id)
    await psa.port.apply(psa.agreement_id, delete)
    await psa.port.apply(psa.agreement_id, delete)  # already deleted: done, not an error
    lines = await psa.port.lines(psa.agreement_id)
    assert not [line for line in lines if line.id == line_id and line.quantity]


async def test_a_one_time_line_is_deleted_and_removed(psa: PsaUnderTest) -> None:
    fee = one_time(psa, key="task:8:line2:one_time")
    line_id = await psa.port.apply(psa.agreement_id, fee)
    delete = replace(fee, action=Action.DELETE, key="task:8:line2:delete", addition_id=line_id)
    await psa.port.apply(psa.agreement_id, delete)
    await psa.port.apply(psa.agreement_id, delete)  # already gone: done, not an error
    assert line_id not in {line.id for line in await psa.port.lines(psa.agreement_id)}
    surplus = await psa.port.apply(psa.agreement_id, replace(fee, key="task:8:line3:one_time"))
    await psa.port.remove_line(psa.agreement_id, surplus)
    await psa.port.remove_line(psa.agreement_id, surplus)  # already gone: no error
    assert surplus not in {line.id for line in await psa.port.lines(psa.agreement_id)}


async def test_a_create_whose_answer_is_lost_leaves_one_line_at_most(psa: PsaUnderTest) -> None:
    action = one_time(psa, key="task:9:line2:one_time")
    await psa.lose_next_answer()
    try:
        line_id: int | None = await psa.port.apply(psa.agreement_id, action)
    except OutcomeUnknown:
        line_id = None
    keyed = [line for line in await psa.port.lines(psa.agreement_id) if line.sync_key == action.key]
    assert len(keyed) <= 1
    if line_id is not None:
        assert [line.id for line in keyed] == [line_id]


async def test_a_recurring_create_whose_answer_is_lost_bills_once_at_most(
    psa: PsaUnderTest,
) -> None:
    action = create(psa, key="task:9:line1:recurring")

    async def billed() -> Decimal:
        lines = await psa.port.lines(psa.agreement_id)
        ours = [line for line in lines if line.product.id == psa.item_id]
        return sum((line.quantity for line in ours if line.is_ongoing_on(psa.day)), Decimal(0))

    before = await billed()
    await psa.lose_next_answer()
    try:
        line_id: int | None = await psa.port.apply(psa.agreement_id, action)
    except OutcomeUnknown:
        line_id = None
    added = await billed() - before
    assert added in (Decimal(0), action.quantity)
    if line_id is not None:
        assert added == action.quantity


async def test_a_lost_write_is_decided_from_what_the_psa_showed_before_it(
    psa: PsaUnderTest,
) -> None:
    action = create(psa, key="task:12:line1:recurring")
    expected = await psa.port.expect(psa.agreement_id, action)
    assert await psa.port.outcome(psa.agreement_id, action, expected) is None  # not written
    await psa.lose_next_answer()
    try:
        line_id: int | None = await psa.port.apply(psa.agreement_id, action)
    except OutcomeUnknown:
        line_id = None
    decided = await psa.port.outcome(psa.agreement_id, action, expected)
    assert decided is not None  # the write landed though its answer was lost
    if line_id is not None:
        assert decided == line_id


async def test_a_write_into_an_invoiced_period_is_refused(psa: PsaUnderTest) -> None:
    inside = replace(
        create(psa, key="task:10:line1:recurring"),
        effective_date=psa.invoiced_through - dt.timedelta(days=3),
    )
    with pytest.raises(AdapterError) as refused:
        await psa.port.apply(psa.invoiced_agreement_id, inside)
    assert "invoiced" in refused.value.message.lower()
    lines = await psa.port.lines(psa.invoiced_agreement_id)
    assert inside.key not in {line.sync_key for line in lines}


async def test_a_line_carrying_a_creates_key_is_rewritten_to_it(psa: PsaUnderTest) -> None:
    earlier = one_time(psa, key="task:11:line2:one_time", quantity="2")
    line_id = await psa.port.apply(psa.agreement_id, replace(earlier, description="old text"))
    later = psa.day + dt.timedelta(days=1)
    planned = replace(
        earlier,
        quantity=Decimal(6),
        unit_price=Decimal("14.00"),
        effective_date=later,
        cancelled_date=later,
    )
    assert await psa.port.rewrite(psa.agreement_id, line_id, planned) == line_id
    line = await psa.port.find_line_by_key(psa.agreement_id, planned.key)
    assert line is not None and line.id == line_id
    assert written_differences(planned, line) == ()
