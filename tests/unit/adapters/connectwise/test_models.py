"""Tolerant reading of vendor JSON and the mapping onto domain values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from psasync.adapters import jsonio
from psasync.adapters.connectwise.errors import ConnectWiseDataError
from psasync.adapters.connectwise.mapping import (
    AdditionChanges,
    AdditionWrite,
    currency_of,
    to_addition,
    to_agreement,
    to_catalog_item,
)
from psasync.adapters.connectwise.models import (
    VendorAddition,
    VendorAgreement,
    VendorBillingCycle,
    VendorCatalogItem,
    VendorCompany,
    VendorCurrency,
    parse_vendor_amount,
    parse_vendor_date,
    read_model,
    read_models,
)
from psasync.domain.agreements import AgreementStatus, BillCustomer, ProductClass, ProductRef
from psasync.domain.billing import BillingCycle, BillingPeriod
from psasync.domain.money import Currency
from psasync.domain.plan import Action, AdditionKind, PlannedAddition, PriceSource

ADDITION = (
    b'{"id": 9001, "product": {"id": 301, "identifier": "M365", "name": null, "_info": {}},'
    b' "billCustomer": "Billable", "quantity": 10, "unitPrice": 12.50, "unitCost": 0.1,'
    b' "extPrice": 125.0, "effectiveDate": "2026-11-01T00:00:00Z", "cancelledDate": null,'
    b' "description": "M365 [psasync task:7:line1:recurring]", "newField2030": {"x": 1},'
    b' "customFields": [{"id": 4, "value": 12.3}]}'
)


def test_vendor_numbers_become_exact_decimals() -> None:
    addition = read_model(VendorAddition, jsonio.loads(ADDITION))
    assert addition.unit_price == Decimal("12.50") and str(addition.unit_price) == "12.50"
    assert addition.unit_cost == Decimal("0.1")
    assert addition.quantity == 10 and isinstance(addition.quantity, Decimal)


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("2026-11-01T00:00:00Z", dt.date(2026, 11, 1)),
        ("2026-11-01", dt.date(2026, 11, 1)),
        ("2026-11-01T23:30:00+05:00", dt.date(2026, 11, 1)),
        ("2026-11-01T00:00:00.000Z", dt.date(2026, 11, 1)),
        (None, None),
        ("", None),
    ],
)
def test_dates_are_read_as_the_calendar_day_written(written: str | None, day: object) -> None:
    assert parse_vendor_date(written) == day


@pytest.mark.parametrize("written", ["11/01/2026", "2026-13-01", "yesterday", 20261101])
def test_unreadable_dates_are_errors(written: object) -> None:
    with pytest.raises(ValueError):
        parse_vendor_date(written)


def test_amounts_refuse_booleans_and_non_numbers() -> None:
    assert parse_vendor_amount("7.10") == Decimal("7.10")
    assert parse_vendor_amount(0.1) == Decimal("0.1")
    for bad in (True, "abc", "NaN", [1]):
        with pytest.raises(ValueError):
            parse_vendor_amount(bad)


def test_unknown_fields_and_nulls_in_required_fields_are_accepted() -> None:
    company = read_model(VendorCompany, {"id": 5, "identifier": None, "name": None, "x": 1})
    assert company.id == 5 and company.identifier is None
    agreement = read_model(VendorAgreement, {"id": 7, "type": None, "company": {"id": 250}})
    assert agreement.company is not None and agreement.company.id == 250


def test_an_unusable_object_names_itself_and_the_field() -> None:
    with pytest.raises(ConnectWiseDataError, match=r"agreement \(id 7\).*billStartDate"):
        read_models(VendorAgreement, [{"id": 7, "billStartDate": "someday"}])
    with pytest.raises(ConnectWiseDataError, match="catalog item"):
        read_model(VendorCatalogItem, {"identifier": "no id"})


def test_an_addition_maps_onto_the_domain_with_its_key() -> None:
    addition = to_addition(read_model(VendorAddition, jsonio.loads(ADDITION)))
    assert addition.product == ProductRef(id=301, identifier="M365")
    assert addition.effective_date == dt.date(2026, 11, 1) and addition.cancelled_date is None
    assert addition.sync_key == "task:7:line1:recurring"
    assert addition.bill_customer is BillCustomer.BILLABLE and addition.taxable is False


def test_additions_without_product_or_with_odd_bill_customer_are_data_errors() -> None:
    with pytest.raises(ConnectWiseDataError, match="no product"):
        to_addition(VendorAddition(id=1))
    with pytest.raises(ConnectWiseDataError, match="billCustomer"):
        to_addition(
            read_model(VendorAddition, {"id": 1, "product": {"id": 2}, "billCustomer": "X"})
        )


CYCLES = {
    1: VendorBillingCycle(id=1, billing_options="Monthly"),
    2: VendorBillingCycle(id=2, billing_options="EveryFullMoon"),
}
CURRENCIES = {3: VendorCurrency(id=3, currency_identifier="cad", number_of_decimals=2)}


def agreement(**fields: Any) -> VendorAgreement:
    data = {"id": 1201, "name": "A", "company": {"id": 250}, "agreementStatus": "Active"}
    return read_model(VendorAgreement, {**data, **fields})


def mapped(vendor: VendorAgreement, company: VendorCompany | None = None) -> Any:
    return to_agreement(
        vendor,
        billing_cycles=CYCLES,
        currencies=CURRENCIES,
        company=company,
        default_currency=Currency("USD"),
    )


def test_agreement_currency_comes_from_the_agreement_then_company_then_default() -> None:
    own = agreement(currency={"id": 9, "currencyIdentifier": "JPY", "numberOfDecimals": 0})
    assert mapped(own).currency == Currency("JPY", 0)
    listed = agreement(currency={"id": 3})
    assert mapped(listed).currency == Currency("CAD", 2)
    company = read_model(VendorCompany, {"id": 250, "currency": {"id": 3}})
    assert mapped(agreement(), company).currency == Currency("CAD", 2)
    assert mapped(agreement()).currency == Currency("USD", 2)


def test_agreement_billing_cycle_is_looked_up_and_unknown_options_match_nothing() -> None:
    assert mapped(agreement(billingCycle={"id": 1})).billing_cycle is BillingCycle.MONTHLY
    assert mapped(agreement(billingCycle={"id": 2})).billing_cycle is None
    assert mapped(agreement(billingCycle={"id": 99})).billing_cycle is None
    found = mapped(agreement(billStartDate="2026-01-01T00:00:00Z", cancelledFlag=None))
    assert found.status is AgreementStatus.ACTIVE and found.cancelled is False
    assert found.bill_start_date == dt.date(2026, 1, 1)


@pytest.mark.parametrize(
    ("fields", "through"),
    [
        ({"nextInvoiceDate": "2026-04-01T00:00:00Z"}, dt.date(2026, 3, 31)),
        ({"nextInvoiceDate": "2026-03-01"}, dt.date(2026, 2, 28)),
        ({"nextInvoiceDate": None}, None),
        ({}, None),
        ({"nextInvoiceDate": "0001-01-01T00:00:00Z"}, None),
    ],
    ids=["vendor instant", "plain date", "null", "absent", ".NET's unset date"],
)
def test_invoiced_through_is_the_day_before_the_next_invoice_date(
    fields: dict[str, Any], through: dt.date | None
) -> None:
    assert mapped(agreement(**fields)).invoiced_through == through


def test_an_unreadable_next_invoice_date_is_a_data_error() -> None:
    with pytest.raises(ConnectWiseDataError, match="nextInvoiceDate"):
        agreement(nextInvoiceDate="soon")


def test_agreements_psasync_cannot_judge_are_data_errors() -> None:
    with pytest.raises(ConnectWiseDataError, match="no company"):
        mapped(agreement(company=None))
    with pytest.raises(ConnectWiseDataError, match="status"):
        mapped(agreement(agreementStatus=None))
    with pytest.raises(ConnectWiseDataError, match="currency"):
        currency_of(VendorCurrency(id=4, currency_identifier="DOLLARS"))
    assert currency_of(VendorCurrency(id=4)) is None
    assert currency_of(VendorCurrency(id=4, currency_code="eur")) == Currency("EUR", 2)


def test_catalog_items_map_and_need_a_known_class() -> None:
    item = to_catalog_item(
        read_model(
            VendorCatalogItem,
            {"id": 5, "identifier": "B", "price": Decimal("9.9"), "productClass": "Bundle"},
        )
    )
    assert item.product_class is ProductClass.BUNDLE and item.cost == 0
    with pytest.raises(ConnectWiseDataError, match="product class"):
        to_catalog_item(VendorCatalogItem(id=6))


def test_a_new_addition_is_written_with_vendor_names_dates_and_exact_numbers() -> None:
    write = AdditionWrite(
        product_id=301,
        quantity=Decimal("3"),
        unit_price=Decimal("13.20"),
        unit_cost=Decimal("10.00"),
        effective_date=dt.date(2026, 11, 11),
        cancelled_date=dt.date(2026, 11, 30),
        bill_customer=BillCustomer.NO_CHARGE,
        taxable=True,
        description="internal",
        invoice_description="Customer text",
    )
    body = jsonio.dumps(write.to_vendor(description="internal [psasync task:1:line1:prorate]"))
    assert body == (
        b'{"product":{"id":301},"billCustomer":"NoCharge","quantity":3,"unitPrice":13.20,'
        b'"unitCost":10.00,"effectiveDate":"2026-11-11T00:00:00Z","taxableFlag":true,'
        b'"description":"internal [psasync task:1:line1:prorate]",'
        b'"invoiceDescription":"Customer text","cancelledDate":"2026-11-30T00:00:00Z"}'
    )


def test_a_planned_addition_becomes_a_write() -> None:
    planned = PlannedAddition(
        action=Action.CREATE,
        kind=AdditionKind.PRORATE,
        key="task:1:line1:prorate",
        line=1,
        product=ProductRef(301, "M365"),
        mpn="CFQ",
        description="Microsoft 365 (prorated)",
        quantity=Decimal(2),
        unit_price=Decimal("8.80"),
        unit_cost=Decimal("6.67"),
        effective_date=dt.date(2026, 11, 11),
        cancelled_date=BillingPeriod(dt.date(2026, 11, 1), dt.date(2026, 12, 1)).last_day,
        bill_customer=BillCustomer.BILLABLE,
        taxable=False,
        price_source=PriceSource.MARKETPLACE,
    )
    write = AdditionWrite.from_planned(planned)
    assert (write.product_id, write.quantity, write.unit_price) == (
        301,
        Decimal(2),
        Decimal("8.80"),
    )
    assert write.cancelled_date == dt.date(2026, 11, 30)
    assert write.invoice_description == write.description == "Microsoft 365 (prorated)"


def test_changes_become_replace_operations_for_the_fields_set() -> None:
    changes = AdditionChanges(quantity=Decimal(0), cancelled_date=dt.date(2026, 11, 30))
    assert changes.to_patch() == [
        {"op": "replace", "path": "quantity", "value": Decimal(0)},
        {"op": "replace", "path": "cancelledDate", "value": "2026-11-30T00:00:00Z"},
    ]
    assert AdditionChanges().to_patch() == []
    everything = AdditionChanges(
        unit_price=Decimal(1),
        unit_cost=Decimal(1),
        effective_date=dt.date(2026, 1, 1),
        bill_customer=BillCustomer.DO_NOT_BILL,
        taxable=False,
        invoice_description="x",
    ).to_patch()
    assert [op["path"] for op in everything] == [
        "unitPrice",
        "unitCost",
        "effectiveDate",
        "billCustomer",
        "taxableFlag",
        "invoiceDescription",
    ]


def test_json_never_goes_through_float() -> None:
    assert jsonio.loads(b"[0.1, 2, 1e2]") == [Decimal("0.1"), 2, Decimal("1E+2")]
    assert jsonio.dumps({"a": [Decimal("0.10"), None, "é"]}) == '{"a":[0.10,null,"é"]}'.encode()
    for bad in (Decimal("NaN"), 1.5, object()):
        with pytest.raises((ValueError, TypeError)):
            jsonio.dumps(bad)
