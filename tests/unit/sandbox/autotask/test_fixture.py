"""The Autotask section of the sandbox fixture: strict keys, labels numbered, references."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from psasync.sandbox.autotask import AutotaskFixture
from psasync.sandbox.autotask import picklists as pl
from psasync.sandbox.fixture import (
    AUTOTASK_DEMO_FIXTURE,
    FixtureError,
    load_fixture,
    parse_fixture,
)

YAML = """
credentials: [{username: api@x.example, secret: s3cret, integrationCode: CODE}]
currencies: [{id: 1, name: USD, isInternalCurrency: true}]
companies: [{id: 10, companyName: Green Lane LLC, isActive: true, currencyID: 1}]
services:
  - {id: 501, name: M365, unitPrice: 12.50, unitCost: "10.00", periodType: Monthly,
     sku: M365-BUS-STD, catalogNumberPartNumber: M365-BUS-STD, isActive: true}
contracts:
  - {id: 1001, contractName: Managed, companyID: 10, contractType: Recurring Service,
     status: Active, contractPeriodType: Monthly, startDate: 2026-01-01,
     endDate: 2026-12-31T00:00:00Z}
contractServices:
  - {id: 7001, contractID: 1001, serviceID: 501, unitPrice: "12.50", unitCost: "10.00",
     invoiceDescription: M365, units: 10, effectiveDate: 2026-01-01}
contractCharges:
  - {id: 9001, contractID: 1001, name: Setup, description: "x [psasync task:1:line2:one_time]",
     datePurchased: 2026-02-01, unitQuantity: 1, unitPrice: "50.00", unitCost: "20.00",
     isBillableToCompany: true}
postedThrough: [{contractID: 1001, date: 2026-01-31}]
"""


def data(**changes: Any) -> dict[str, Any]:
    return {**yaml.safe_load(YAML), **changes}


def load(**changes: Any) -> AutotaskFixture:
    return AutotaskFixture.model_validate(data(**changes))


def test_an_empty_section_is_valid_and_the_section_is_optional() -> None:
    assert AutotaskFixture().contracts == []
    assert parse_fixture({}).autotask.credentials == []


def test_values_are_read_exactly_and_labels_numbered() -> None:
    fixture = load()
    contract, service = fixture.contracts[0], fixture.services[0]
    assert contract.contract_type == pl.CONTRACT_TYPE.value_of("Recurring Service") == 7
    assert contract.status == pl.CONTRACT_STATUS.value_of("Active")
    assert contract.contract_period_type == pl.CONTRACT_PERIOD_TYPE.value_of("Monthly")
    assert contract.end_date == dt.date(2026, 12, 31)
    assert service.unit_price == Decimal("12.5") and service.unit_cost == Decimal("10.00")
    assert fixture.contract_services[0].units == 10
    assert fixture.posted_through[0].date == dt.date(2026, 1, 31)
    assert "s3cret" not in repr(fixture.credentials[0])


def test_an_unknown_key_is_an_error_naming_it() -> None:
    bad = data()
    bad["contracts"][0]["colour"] = "red"
    with pytest.raises(FixtureError, match=r"unknown key 'autotask.contracts\[0\].colour'"):
        parse_fixture({"autotask": bad})


def test_an_unknown_label_names_the_known_ones() -> None:
    bad = data()
    bad["contracts"][0]["contractPeriodType"] = "Fortnightly"
    with pytest.raises(ValidationError, match="'Fortnightly' is not one of 'Monthly'"):
        AutotaskFixture.model_validate(bad)


def test_a_picklist_number_is_refused_in_favour_of_its_label() -> None:
    bad = data()
    bad["contracts"][0]["contractType"] = 7
    with pytest.raises(ValidationError, match="written as its label"):
        AutotaskFixture.model_validate(bad)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"companies": [{"id": 10, "companyName": "A", "currencyID": 9}]}, "currencyID 9"),
        (
            {"contractServices": [{"id": 1, "contractID": 1001, "serviceID": 999}]},
            "serviceID 999 does not exist",
        ),
        (
            {"contractServices": [{"id": 1, "contractID": 5, "serviceID": 501}]},
            "contractID 5 does not exist",
        ),
        (
            {
                "contractServices": [
                    {"id": 1, "contractID": 1001, "serviceID": 501, "effectiveDate": "2027-02-01"}
                ]
            },
            "outside the contract's dates",
        ),
        ({"postedThrough": [{"contractID": 5, "date": "2026-01-01"}]}, "contract 5"),
        (
            {
                "contractCharges": [
                    {
                        "id": 1,
                        "contractID": 5,
                        "name": "x",
                        "datePurchased": "2026-01-01",
                        "unitQuantity": 1,
                    }
                ]
            },
            "contract charge 1: contractID 5",
        ),
        ({"services": [*yaml.safe_load(YAML)["services"]] * 2}, "services: 501 appears"),
    ],
)
def test_references_are_checked(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        load(**change)


def test_services_only_go_on_recurring_service_contracts() -> None:
    bad = data()
    bad["contracts"][0]["contractType"] = "Time and Materials"
    with pytest.raises(ValidationError, match="not a Recurring Service one"):
        AutotaskFixture.model_validate(bad)


def test_the_shipped_fixture_loads_and_uses_the_demo_mpns() -> None:
    fixture = load_fixture(AUTOTASK_DEMO_FIXTURE).autotask
    skus = {service.sku for service in fixture.services}
    assert {"M365-BUS-STD", "M365-BUS-PREM", "BKP-CLOUD-500", "EPP-ANNUAL"} <= skus
    assert {c.contract_period_type for c in fixture.contracts} >= {
        pl.CONTRACT_PERIOD_TYPE.value_of("Monthly"),
        pl.CONTRACT_PERIOD_TYPE.value_of("Yearly"),
    }
    assert fixture.posted_through
