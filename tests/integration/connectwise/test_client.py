"""The client against the emulator in-process: typed reads, writes, errors and paging."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from psasync.adapters.connectwise import (
    AdditionChanges,
    AdditionWrite,
    ConnectWiseAuthError,
    ConnectWiseClient,
    ConnectWiseInvalid,
    ConnectWiseNotFound,
    field,
)
from psasync.domain.agreements import AgreementStatus, BillCustomer, ProductClass
from psasync.domain.billing import BillingCycle
from psasync.domain.money import Currency
from tests.integration.connectwise.world import (
    PRIVATE_KEY,
    FakeSleep,
    Harness,
    make_fixture,
    policy,
    site,
)

pytestmark = pytest.mark.anyio
USD = Currency("USD")
ADDITIONS_PATH = "/v4_6_release/apis/3.0/finance/agreements/1201/additions"


def new_addition(**changes: object) -> AdditionWrite:
    values: dict[str, object] = {
        "product_id": 301,
        "quantity": Decimal(3),
        "unit_price": Decimal("13.20"),
        "unit_cost": Decimal("10.00"),
        "effective_date": dt.date(2026, 11, 1),
        "description": "Microsoft 365 Business Standard",
        "invoice_description": "Microsoft 365 Business Standard (3 users)",
    }
    return AdditionWrite(**{**values, **changes})  # type: ignore[arg-type]


async def test_connect_asks_the_site_for_its_codebase(harness: Harness) -> None:
    async with harness.http() as http:
        client = await ConnectWiseClient.connect(http, site(), policy=policy(FakeSleep()))
        assert client.codebase == "v4_6_release"
        assert await client.check_credentials() == 3
    assert harness.calls.snapshot()[("GET", "/login/companyinfo/northwind")] == 1


async def test_an_explicit_codebase_is_used_without_asking(harness: Harness) -> None:
    async with harness.http() as http:
        client = await ConnectWiseClient.connect(http, site(codebase="/v4_6_release/"))
        assert client.codebase == "v4_6_release"
        await client.check_credentials()
    assert not any(path.startswith("/login") for _, path in harness.calls.snapshot())


async def test_wrong_keys_raise_a_clear_auth_error_without_the_private_key(
    harness: Harness,
) -> None:
    async with harness.http() as http:
        client = ConnectWiseClient(http, site(private_key="not-the-key"))
        with pytest.raises(ConnectWiseAuthError) as caught:
            await client.check_credentials()
    error = caught.value
    assert error.status == 401 and error.code == "Unauthorized"
    assert "public and private keys" in error.message
    for text in (str(error), repr(error), repr(client), repr(site())):
        assert PRIVATE_KEY not in text and "not-the-key" not in text


async def test_company_agreements_resolve_cycle_and_currency(client: ConnectWiseClient) -> None:
    agreements = await client.company_agreements(250, default_currency=Currency("EUR"))
    assert [a.id for a in agreements] == [1201, 1202]
    managed, annual = agreements
    assert (managed.name, managed.company_id, managed.status) == (
        "Green Lane - Managed Cloud",
        250,
        AgreementStatus.ACTIVE,
    )
    assert managed.billing_cycle is BillingCycle.MONTHLY
    assert managed.currency == USD and managed.bill_start_date == dt.date(2026, 1, 1)
    # No currency on the agreement nor its company: the site default.
    assert annual.currency == Currency("EUR")
    assert (annual.cancelled, annual.prorate_flag, annual.billing_cycle) == (
        True,
        True,
        BillingCycle.YEARLY,
    )
    assert annual.bill_start_date is None


async def test_conditions_narrow_company_agreements(client: ConnectWiseClient) -> None:
    active = field("agreementStatus").eq("Active")
    found = await client.company_agreements(250, default_currency=USD, conditions=active)
    assert [a.id for a in found] == [1201]
    assert await client.company_agreements(252, default_currency=USD) == []


async def test_a_currency_keeps_its_decimals(client: ConnectWiseClient) -> None:
    agreement = await client.domain_agreement(1211, default_currency=USD)
    assert agreement.currency == Currency("JPY", decimals=0)


async def test_additions_are_exact_and_carry_their_sync_key(client: ConnectWiseClient) -> None:
    first, second = await client.additions(1201)
    assert first.unit_price == Decimal("12.50") and str(first.unit_price) == "12.50"
    assert (first.quantity, first.unit_cost, first.sync_key) == (
        Decimal(10),
        Decimal("10.00"),
        None,
    )
    assert first.product.identifier == "M365-BUS-STD"
    assert second.quantity == Decimal("1.5") and second.unit_price == Decimal("0.025")
    assert second.bill_customer is BillCustomer.DO_NOT_BILL and second.taxable
    assert second.cancelled_date == dt.date(2026, 2, 28)
    assert second.sync_key == "task:3:line1:one_time"
    records = await client.addition_records(1201)
    assert records[0].ext_price == Decimal("125.00") and records[0].margin == Decimal("25.00")


async def test_catalog_search_by_mpn_and_identifier(client: ConnectWiseClient) -> None:
    by_mpn = await client.catalog_by_mpn("CFQ7TTC0LDPB")
    assert [(i.id, i.product_class) for i in by_mpn] == [
        (301, ProductClass.SERVICE),
        (390, ProductClass.BUNDLE),
    ]
    assert by_mpn[0].price == Decimal("13.20") and by_mpn[0].cost == Decimal("10.00")
    (item,) = await client.catalog_items(conditions=field("identifier").eq("stor-usage-gb"))
    assert item.id == 304 and item.price == Decimal("0.025")
    injected = field("identifier").eq('nothing" or id > 0 or identifier = "')
    assert await client.catalog_items(conditions=injected) == []
    assert (await client.catalog_item(301)).customer_description.endswith("(per user)")


async def test_user_text_in_conditions_stays_one_literal(client: ConnectWiseClient) -> None:
    exact = await client.companies(conditions=field("name").eq('Cedar "Ridge" Architects'))
    assert [c.id for c in exact] == [252]
    sneaky = field("name").eq('x" or id > 0 or name = "x')
    assert await client.companies(conditions=sneaky) == []
    assert await client.count("company/companies", conditions=sneaky) == 0


async def test_create_update_and_cancel_an_addition(client: ConnectWiseClient) -> None:
    created = await client.create_addition(1201, new_addition(), key="task:7:line1:recurring")
    assert created.sync_key == "task:7:line1:recurring"
    # The key rides in the internal description; the domain sees the text without the mark.
    assert created.description == "Microsoft 365 Business Standard"
    assert created.invoice_description == "Microsoft 365 Business Standard (3 users)"
    assert created.unit_price == Decimal("13.20") and created.effective_date == dt.date(2026, 11, 1)
    updated = await client.update_addition(
        1201, created.id, AdditionChanges(quantity=Decimal(5), unit_price=Decimal("12.99"))
    )
    assert (updated.quantity, updated.unit_price) == (Decimal(5), Decimal("12.99"))
    cancelled = await client.cancel_addition(1201, created.id, cancelled_date=dt.date(2026, 11, 30))
    assert cancelled.cancelled_date == dt.date(2026, 11, 30)
    assert await client.addition(1201, created.id) == cancelled
    assert await client.update_addition(1201, created.id, AdditionChanges()) == cancelled
    assert len(await client.additions(1201)) == 3


async def test_find_by_key_matches_the_exact_marker(client: ConnectWiseClient) -> None:
    await client.create_addition(1201, new_addition(), key="task:7:line10:recurring")
    assert await client.find_addition_by_key(1201, "task:7:line1:recurring") is None
    found = await client.find_addition_by_key(1201, "task:7:line10:recurring")
    assert found is not None and found.sync_key == "task:7:line10:recurring"


async def test_a_bad_key_is_refused_before_anything_is_sent(
    client: ConnectWiseClient, harness: Harness
) -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        await client.create_addition(1201, new_addition(), key="not a key")
    assert harness.calls.total(method="POST") == 0


async def test_vendor_validation_errors_carry_the_fields(client: ConnectWiseClient) -> None:
    bad = new_addition(product_id=390, effective_date=dt.date(2025, 1, 1))
    with pytest.raises(ConnectWiseInvalid) as caught:
        await client.create_addition(1201, bad, key="task:7:line1:recurring")
    error = caught.value
    assert (error.status, error.code) == (400, "InvalidObject")
    assert {(e.field, e.code) for e in error.errors} == {
        ("product", "InvalidField"),
        ("effectiveDate", "OutOfRange"),
    }
    assert "effectiveDate: effectiveDate cannot be less than" in error.message
    assert len(await client.additions(1201)) == 2


async def test_missing_objects_raise_not_found(client: ConnectWiseClient) -> None:
    with pytest.raises(ConnectWiseNotFound) as caught:
        await client.agreement(4040)
    assert caught.value.status == 404 and "4040" in caught.value.message
    with pytest.raises(ConnectWiseNotFound):
        await client.cancel_addition(1211, 9001, cancelled_date=dt.date(2026, 1, 31))


async def test_more_than_a_page_is_read_through_the_link_header() -> None:
    additions = [
        {
            "id": 20_000 + n,
            "agreementId": 1201,
            "product": {"id": 301},
            "quantity": n,
            "unitPrice": "1.00",
            "billCustomer": "Billable",
        }
        for n in range(1, 1204)
    ]
    harness = Harness(fixture=make_fixture(additions=additions))
    async with harness.http() as http:
        client = harness.client(http)
        found = await client.additions(1201)
        big = await client.additions(1201, conditions=field("quantity").gt(1100))
    assert [a.id for a in found] == [a["id"] for a in additions]
    assert [a.quantity for a in big] == list(range(1101, 1204))
    assert harness.calls.snapshot()[("GET", ADDITIONS_PATH)] == 3  # two pages, then one


async def test_small_pages_keep_their_conditions_on_every_page(
    client: ConnectWiseClient, harness: Harness
) -> None:
    condition = field("company/id").eq(250) | field("id").eq(1211)
    items = await client.api.get_all(
        "finance/agreements", conditions=condition, order_by="id desc", page_size=1
    )
    assert [item["id"] for item in items] == [1211, 1202, 1201]
    path = "/v4_6_release/apis/3.0/finance/agreements"
    assert harness.calls.snapshot()[("GET", path)] == 3
