"""The sandbox fixture files: the demo's, generated ones, and the errors a bad file gets."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from psasync.entrypoints.cli import app
from psasync.sandbox.fixture import DEMO_FIXTURE, FixtureError, load_fixture, parse_fixture
from psasync.sandbox.generate import generate_fixture

NOVEMBER = dt.date(2026, 11, 1)


def test_the_demo_fixture_loads() -> None:
    fixture = load_fixture(DEMO_FIXTURE)
    names = {customer.name for customer in fixture.marketplace.customers}
    assert "Green Lane LLC" in names and len(names) >= 8
    assert len(fixture.connectwise.agreements) >= 8


def test_an_unknown_key_is_named_with_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "connectwise:\n  companies:\n    - {id: 1, identifier: A, name: A, colour: red}\n"
    )
    with pytest.raises(FixtureError, match=r"unknown key 'connectwise.companies\[0\].colour'"):
        load_fixture(bad)


def test_an_unknown_section_is_named() -> None:
    with pytest.raises(FixtureError, match="unknown key 'halopsa'"):
        parse_fixture({"halopsa": {}})


@pytest.mark.parametrize(
    ("text", "message"),
    [("marketplace: [unclosed", "not valid YAML or JSON"), ("- a list", "is a mapping")],
)
def test_a_file_that_is_not_a_fixture_says_so(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(FixtureError, match=message):
        load_fixture(bad)


def test_a_missing_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="cannot read fixture .*missing.yaml"):
        load_fixture(tmp_path / "missing.yaml")


def test_generated_fixtures_are_reproducible_and_sized_as_asked() -> None:
    data = generate_fixture(customers=20, subscriptions=100, orders=60, month=NOVEMBER, seed=5)
    assert data == generate_fixture(
        customers=20, subscriptions=100, orders=60, month=NOVEMBER, seed=5
    )
    fixture = parse_fixture(data)
    assert len(fixture.marketplace.customers) == len(fixture.connectwise.companies) == 20
    assert len(fixture.marketplace.subscriptions) == 100
    assert len(fixture.marketplace.orders) == 60
    assert set(Counter(order.type for order in fixture.marketplace.orders)) == {
        "sales",
        "change",
        "billing",
    }


def test_each_generated_change_order_starts_from_the_quantity_connectwise_holds() -> None:
    data = generate_fixture(customers=10, subscriptions=80, orders=80, month=NOVEMBER, seed=2)
    pairs = [(a["agreementId"], a["product"]["id"]) for a in data["connectwise"]["additions"]]
    assert len(pairs) == len(set(pairs)), "one ongoing addition per product and agreement"
    held = {
        (addition["agreementId"], addition["product"]["id"]): addition["quantity"]
        for addition in data["connectwise"]["additions"]
    }
    catalog = {
        item["manufacturerPartNumber"]: item["id"] for item in data["connectwise"]["catalog"]
    }
    subscriptions = {s["id"]: s for s in data["marketplace"]["subscriptions"]}
    customers = {c["id"]: c["name"] for c in data["marketplace"]["customers"]}
    agreements = {a["name"].split(" - ")[0]: a["id"] for a in data["connectwise"]["agreements"]}
    changes = [o for o in data["marketplace"]["orders"] if o["type"] == "change"]
    assert changes
    for order in changes:
        (line,) = order["details"]
        agreement = agreements[customers[order["customerId"]]]
        (product,) = subscriptions[order["subscriptionId"]]["products"]
        old = held[(agreement, catalog[line["mpn"]])]
        assert old + line["quantity"] == product["quantity"] > 0


@pytest.mark.parametrize(
    ("customers", "subscriptions", "orders", "month", "message"),
    [
        (0, 10, 1, NOVEMBER, "at least one customer"),
        (20, 10, 1, NOVEMBER, "no more customers than subscriptions"),
        (2, 10, 11, NOVEMBER, "orders ≤ subscriptions"),
        (1, 10, 1, NOVEMBER, "subscriptions ≤ 8"),
        (2, 10, 1, dt.date(2026, 11, 5), "first day of a month"),
    ],
)
def test_impossible_sizes_are_refused(
    customers: int, subscriptions: int, orders: int, month: dt.date, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        generate_fixture(
            customers=customers, subscriptions=subscriptions, orders=orders, month=month
        )


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_the_cli_writes_a_fixture_the_sandbox_loads(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"bench{suffix}"
    result = CliRunner().invoke(
        app,
        ["generate-fixture", "--out", str(out), "--customers", "3", "--subscriptions", "9",
         "--orders", "4", "--month", "2026-11"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "3 customers, 9 subscriptions, 4 orders in November 2026" in said
    assert len(load_fixture(out).marketplace.orders) == 4


def test_json_fixtures_keep_exact_decimals(tmp_path: Path) -> None:
    data = generate_fixture(customers=1, subscriptions=4, orders=0, month=NOVEMBER)
    data["connectwise"]["catalog"][0]["price"] = 0.1
    out = tmp_path / "exact.json"
    out.write_text(json.dumps(data))
    assert load_fixture(out).connectwise.catalog[0].price == Decimal("0.1")


def test_the_cli_refuses_a_bad_month(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["generate-fixture", "--out", str(tmp_path / "f.json"), "--month", "November"]
    )
    assert result.exit_code == 2 and "Cannot generate the fixture" in result.output
