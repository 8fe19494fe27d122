"""The ``marketplace:`` fixture section: strict keys, types and cross-references."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from psasync.sandbox.marketplace import MarketplaceFixture, create_marketplace_apps
from tests.integration.marketplace.data import fixture_data

DEMO = Path(__file__).resolve().parents[3] / "src/psasync/sandbox/demo.yaml"


def problems(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as raised:
        MarketplaceFixture.model_validate(data)
    return "\n".join(
        f"{'.'.join(map(str, e['loc']))} [{e['type']}] {e['msg']}" for e in raised.value.errors()
    )


def edited(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(fixture_data())
    change(data)
    return data


def test_an_empty_section_is_valid_and_serves_nothing() -> None:
    assert create_marketplace_apps(MarketplaceFixture()) == {}


def test_one_app_per_marketplace_code() -> None:
    apps = create_marketplace_apps(MarketplaceFixture.model_validate(fixture_data()))
    assert sorted(apps) == ["eu", "us"]


def test_numeric_yaml_ids_and_postal_codes_become_strings() -> None:
    fixture = MarketplaceFixture.model_validate(fixture_data())
    assert fixture.resellers[0].id == "1000001"
    assert fixture.resellers[0].address.postal_code == "98101"
    usage = fixture.orders[4].details[0]
    assert usage.quantity == Decimal("1250.5") and isinstance(usage.quantity, Decimal)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.update(discounts=[]), "discounts"),
        (lambda d: d["resellers"][0].update(colour="red"), "resellers.0.colour"),
        (lambda d: d["customers"][0]["address"].update(zip="1"), "customers.0.address.zip"),
        (
            lambda d: d["resellers"][0]["contactPersons"][0].update(password="x"),
            "resellers.0.contactPersons.0.password",
        ),
        (lambda d: d["orders"][0]["details"][0].update(price="1"), "orders.0.details.0.price"),
        (lambda d: d["orders"][0].update(reseller_id="1"), "orders.0.reseller_id"),
    ],
)
def test_an_unknown_key_is_an_error_naming_it(change: Any, where: str) -> None:
    report = problems(edited(change))
    assert f"{where} [extra_forbidden]" in report


def test_a_float_amount_is_refused_with_a_hint() -> None:
    def float_price(data: dict[str, Any]) -> None:
        data["products"][0]["prices"][0]["amount"] = 12.5

    assert "is a binary float: quote it (e.g. '12.50')" in problems(edited(float_price))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["resellers"][0].update(marketplace="ca"),
            "reseller 1000001: marketplace 'ca' is not in marketplaces",
        ),
        (
            lambda d: d["customers"][0].update(resellerId="999"),
            "customer 1000048531: resellerId '999' is not a reseller of the fixture",
        ),
        (
            lambda d: d["subscriptions"][0].update(customerId="42"),
            "subscription 7000101: customerId '42' is not a customer of the fixture",
        ),
        (
            lambda d: d["orders"][0].update(customerId="42"),
            "order 5000101: customerId '42' is not a customer of the fixture",
        ),
        (
            lambda d: d["orders"][0].update(subscriptionId="42"),
            "order 5000101: subscriptionId '42' is not a subscription of the fixture",
        ),
        (
            lambda d: d["orders"][0].update(subscriptionId="7000102"),
            "subscription 7000102 belongs to customer 1000048532, not to the order's customer",
        ),
        (
            lambda d: d["orders"][0]["details"][0].update(mpn="NOPE"),
            "order 5000101 line 1: mpn 'NOPE' is not in products",
        ),
        (
            lambda d: d["subscriptions"][0]["products"][0].update(mpn="NOPE"),
            "subscription 7000101: product mpn 'NOPE' is not in products",
        ),
        (
            lambda d: d["customers"][1].update(id="1000048531"),
            "customer id '1000048531' is used 2 times",
        ),
        (
            lambda d: d["orders"][1].update(orderNumber="SO0000101"),
            "order orderNumber 'SO0000101' is used 2 times",
        ),
        (
            lambda d: d["resellers"][1]["users"].append(d["resellers"][0]["users"][0]),
            "user username (in one marketplace) 'us/alice@northwind.example' is used 2 times",
        ),
        (
            lambda d: d["orders"][0].update(nextBillingDate="2025-01-01"),
            "lastBillingDate 2026-01-01 is not before nextBillingDate 2025-01-01",
        ),
    ],
)
def test_broken_references_are_named(change: Any, message: str) -> None:
    assert message in problems(edited(change))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["orders"][0].update(type="transfer"), "orders.0.type"),
        (lambda d: d["orders"][0].update(status="done"), "orders.0.status"),
        (lambda d: d["orders"][0]["details"][0].update(type="bonus"), "orders.0.details.0.type"),
        (lambda d: d["customers"][0].pop("address"), "customers.0.address"),
        (lambda d: d["marketplaces"][0].update(currency="usd"), "marketplaces.0.currency"),
        (
            lambda d: d["subscriptions"][0].update(creationDate="soon"),
            "subscriptions.0.creationDate",
        ),
    ],
)
def test_values_outside_the_specs_enums_and_formats_are_refused(change: Any, where: str) -> None:
    assert where in problems(edited(change))


@pytest.mark.skipif(not DEMO.exists(), reason="the demo fixture is not in this tree yet")
def test_the_demo_fixtures_marketplace_section_loads() -> None:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    fixture = MarketplaceFixture.model_validate(data["marketplace"])
    assert "us" in create_marketplace_apps(fixture)


def test_the_fixture_loader_names_an_unknown_marketplace_key() -> None:
    # Imported here: the shared loader needs both emulator packages.
    from psasync.sandbox.fixture import FixtureError, parse_fixture

    data = edited(lambda d: d["customers"][1].update(contactPersons=[{"type": "admin"}]))
    data["customers"][0]["adress"] = {}
    with pytest.raises(FixtureError) as raised:
        parse_fixture({"marketplace": data}, source="test.yaml")
    message = str(raised.value)
    assert "unknown key 'marketplace.customers[0].adress'" in message
    assert "marketplace.customers[1].contactPersons[0].firstName: Field required" in message
