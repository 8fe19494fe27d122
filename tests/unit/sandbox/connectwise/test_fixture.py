"""The ConnectWise section of the sandbox fixture: strict keys, types and references."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from psasync.sandbox.connectwise import ConnectWiseFixture
from psasync.sandbox.connectwise.vocabulary import BillCustomer, ProductClass

YAML = """
credentials:
  - {companyId: 12345, publicKey: pub, privateKey: priv, clientId: guid}
companies: [{id: 250, identifier: GreenLane, name: Green Lane LLC}]
currencies: [{id: 1, currencyIdentifier: USD, name: US Dollar}]
billingCycles: [{id: 1, identifier: M, name: Monthly, billingOptions: Monthly}]
agreementTypes: [{id: 2, name: Cloud}]
catalog:
  - {id: 301, identifier: M365, description: Microsoft 365, price: 13.20, cost: 10,
     productClass: Service, manufacturerPartNumber: CFQ}
agreements:
  - {id: 1201, name: Managed, type: {id: 2}, company: {id: 250}, billingCycle: {id: 1},
     currency: {id: 1}, startDate: 2026-01-01, billStartDate: 2026-01-01T00:00:00Z}
additions:
  - {id: 9001, agreementId: 1201, product: {id: 301}, quantity: 10, unitPrice: 12.50,
     unitCost: "10.00", billCustomer: Billable, effectiveDate: 2026-01-01}
"""


def load(text: str = YAML) -> ConnectWiseFixture:
    return ConnectWiseFixture.model_validate(yaml.safe_load(text))


def data(**changes: Any) -> dict[str, Any]:
    return {**yaml.safe_load(YAML), **changes}


def test_an_empty_fixture_is_valid() -> None:
    empty = ConnectWiseFixture()
    assert empty.agreements == [] and empty.credentials == []


def test_yaml_values_are_read_exactly() -> None:
    fixture = load()
    assert fixture.credentials[0].company_id == "12345", "numeric-looking ids stay text"
    item, addition = fixture.catalog[0], fixture.additions[0]
    assert item.price == Decimal("13.2") and item.cost == Decimal(10)
    assert item.product_class is ProductClass.SERVICE
    assert addition.unit_price == Decimal("12.5") and addition.unit_cost == Decimal("10.00")
    assert addition.bill_customer is BillCustomer.BILLABLE
    assert fixture.agreements[0].bill_start_date == dt.date(2026, 1, 1)
    assert fixture.currencies[0].number_of_decimals == 2
    assert "priv" not in repr(fixture.credentials[0])


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"contacts": []}, ("contacts",)),
        ({"companies": [{"id": 1, "identifier": "A", "name": "A", "city": "X"}]}, "city"),
        (
            {
                "catalog": [
                    {
                        "id": 1,
                        "identifier": "A",
                        "description": "A",
                        "productClass": "Service",
                        "colour": "red",
                    }
                ]
            },
            "colour",
        ),
    ],
)
def test_unknown_keys_are_errors_naming_the_key(changes: dict[str, Any], where: object) -> None:
    with pytest.raises(ValidationError) as caught:
        ConnectWiseFixture.model_validate(data(**changes))
    problem = caught.value.errors()[0]
    assert problem["type"] == "extra_forbidden"
    assert problem["loc"][-1] == (where[0] if isinstance(where, tuple) else where)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "billingCycles": [
                    {"id": 1, "identifier": "M", "name": "M", "billingOptions": "Daily"}
                ]
            },
            "billingOptions",
        ),
        (
            {
                "catalog": [
                    {"id": 1, "identifier": "A", "description": "A", "productClass": "Thing"}
                ]
            },
            "productClass",
        ),
        (
            {
                "additions": [
                    {"id": 1, "agreementId": 1201, "product": {"id": 301}, "unitPrice": "twelve"}
                ]
            },
            "unitPrice",
        ),
        (
            {
                "additions": [
                    {"id": 1, "agreementId": 1201, "product": {"id": 301}, "effectiveDate": "soon"}
                ]
            },
            "effectiveDate",
        ),
        (
            {
                "additions": [
                    {
                        "id": 1,
                        "agreementId": 1201,
                        "product": {"id": 301},
                        "unitPrice": float("nan"),
                    }
                ]
            },
            "unitPrice",
        ),
        ({"companies": [{"id": 250, "identifier": "X" * 31, "name": "A"}]}, "identifier"),
    ],
)
def test_bad_values_name_their_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ConnectWiseFixture.model_validate(data(**changes))


def credential(private_key: str) -> dict[str, str]:
    return {"companyId": "a", "publicKey": "p", "privateKey": private_key, "clientId": "c"}


def agreement(**fields: Any) -> dict[str, Any]:
    return {"id": 1300, "name": "B", "type": {"id": 2}, "company": {"id": 250}, **fields}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"agreements": [agreement(company={"id": 9})]},
            "agreement 1300: company 9 does not exist",
        ),
        ({"agreements": [agreement(type={"id": 9})]}, "agreement 1300: type 9 does not exist"),
        ({"agreements": [agreement(billingCycle={"id": 9})]}, "billingCycle 9 does not exist"),
        ({"agreements": [agreement(currency={"id": 9})]}, "currency 9 does not exist"),
        (
            {"additions": [{"id": 5, "agreementId": 77, "product": {"id": 301}}]},
            "addition 5: agreement 77 does not exist",
        ),
        (
            {"additions": [{"id": 5, "agreementId": 1201, "product": {"id": 9}}]},
            "addition 5: product 9 is not in the catalog",
        ),
        (
            {
                "companies": [
                    {"id": 250, "identifier": "A", "name": "A"},
                    {"id": 250, "identifier": "B", "name": "B"},
                ]
            },
            "companies: 250 appears more than once",
        ),
        (
            {"credentials": [credential("x"), credential("y")]},
            "credentials",
        ),
    ],
)
def test_broken_references_and_duplicates_are_named(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ConnectWiseFixture.model_validate(data(**changes))


def test_an_agreement_may_carry_the_vendors_next_invoice_date() -> None:
    fixture = ConnectWiseFixture.model_validate(
        data(
            agreements=[agreement(nextInvoiceDate="2026-04-01T00:00:00Z"), agreement(id=1301)],
            additions=[],
        )
    )
    assert fixture.agreements[0].next_invoice_date == dt.date(2026, 4, 1)
    assert fixture.agreements[1].next_invoice_date is None, "never invoiced"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"nextInvoiceDate": "next month"}, "nextInvoiceDate"),
        ({"invoicedThrough": "2026-03-31"}, "extra_forbidden"),
    ],
)
def test_a_bad_next_invoice_date_or_a_made_up_key_is_an_error(
    fields: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        ConnectWiseFixture.model_validate(data(agreements=[agreement(**fields)], additions=[]))
    found = caught.value.errors()[0]
    assert problem in (found["type"], found["loc"][-1])
