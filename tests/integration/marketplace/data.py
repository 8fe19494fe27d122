"""The test fixture's ``marketplace:`` section, and the facts tests check against it.

Northwind IT (reseller 1000001, marketplace ``us``) has eight orders — a sales order with a
setup fee, an upgrade and a downgrade, a Billing Order with usage lines and a line psasync does
not bill, a processing order, a renewal and a migration — more than two pages of three.
Contoso (1000002) shares the marketplace; Fabrikam (2000001) is on ``eu``. Neither may ever be
visible to Northwind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

US_KEY = "us-gateway-key-0001"
EU_KEY = "eu-gateway-key-0002"
ALICE = {"username": "alice@northwind.example", "password": "alice-Secret-pw-77"}
BOB = {"username": "bob@contoso.example", "password": "bob-Secret-pw-88"}
CAROL = {"username": "carol@fabrikam.example", "password": "carol-Secret-pw-99"}
NORTHWIND, CONTOSO, FABRIKAM = "1000001", "1000002", "2000001"
GREEN_LANE, BLUEBIRD, BLUE_HARBOR, LINDENHOF = (
    "1000048531",
    "1000048532",
    "1000059001",
    "2000070001",
)
BASE = "http://marketplace.test"
START = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)

ADDRESS = {
    "streetAddress": "1 Main St",
    "postalCode": 98101,
    "city": "Seattle",
    "countryCode": "US",
}


def _contact(email: str) -> dict[str, str]:
    return {
        "type": "admin",
        "firstName": "Pat",
        "lastName": "Doe",
        "email": email,
        "phoneNumber": "+1 206 555 0100",
    }


def _money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"currency": currency, "amount": amount}


def _line(kind: str, mpn: str, quantity: Any, price: str, cost: str) -> dict[str, Any]:
    return {
        "type": kind,
        "mpn": mpn,
        "description": f"{mpn} {kind}",
        "quantity": quantity,
        "unitPrice": _money(price),
        "unitCost": _money(cost),
        "duration": {"type": "month", "duration": 1},
    }


def _order(
    order_id: str,
    number: str,
    kind: str,
    *,
    customer: str,
    subscription: str,
    created: str,
    status: str = "completed",
    lines: list[dict[str, Any]] | None = None,
    period: tuple[str, str] = ("2026-11-01", "2026-12-01"),
) -> dict[str, Any]:
    return {
        "id": order_id,
        "orderNumber": number,
        "type": kind,
        "customerId": customer,
        "subscriptionId": subscription,
        "status": status,
        "creationDate": created,
        "provisioningDate": created if status == "completed" else None,
        "lastBillingDate": period[0],
        "nextBillingDate": period[1],
        "details": lines or [],
    }


def _subscription(
    sub_id: str,
    customer: str,
    mpn: str,
    quantity: int,
    *,
    created: str,
    price: str,
    period: str = "month",
) -> dict[str, Any]:
    return {
        "id": sub_id,
        "customerId": customer,
        "name": f"{mpn} subscription",
        "billingPeriod": {"type": period, "duration": 1},
        "subscriptionPeriod": {"type": "year", "duration": 1},
        "creationDate": created,
        "products": [{"mpn": mpn, "quantity": quantity, "unitPrice": _money(price)}],
    }


def _product(
    product_id: str, mpn: str, prices: list[dict[str, str]], **extra: Any
) -> dict[str, Any]:
    return {
        "id": product_id,
        "mpn": mpn,
        "name": f"Product {mpn}",
        "vendor": "Acme",
        "billingPeriod": {"type": "month", "duration": 1},
        "prices": prices,
        "costs": [],
        **extra,
    }


def fixture_data() -> dict[str, Any]:
    """The ``marketplace:`` section as a YAML file would give it (ids partly unquoted)."""
    return {
        "marketplaces": [
            {
                "code": "us",
                "name": "Cloud Marketplace US",
                "currency": "USD",
                "subscriptionKey": US_KEY,
            },
            {
                "code": "eu",
                "name": "Cloud Marketplace EU",
                "currency": "EUR",
                "subscriptionKey": EU_KEY,
            },
        ],
        "resellers": [
            {
                "id": 1000001,
                "name": "Northwind IT",
                "marketplace": "us",
                "currency": "USD",
                "address": ADDRESS,
                "contactPersons": [_contact("nancy@northwind.example")],
                "users": [ALICE],
                "externalId": "NW-1",
            },
            {
                "id": CONTOSO,
                "name": "Contoso Cloud",
                "marketplace": "us",
                "currency": "USD",
                "address": ADDRESS,
                "users": [BOB],
            },
            {
                "id": FABRIKAM,
                "name": "Fabrikam EU",
                "marketplace": "eu",
                "currency": "EUR",
                "address": {**ADDRESS, "countryCode": "DE"},
                "users": [CAROL],
            },
        ],
        "customers": [
            {
                "id": GREEN_LANE,
                "resellerId": NORTHWIND,
                "name": "Green Lane LLC",
                "externalId": "GL-1",
                "address": ADDRESS,
                "contactPersons": [_contact("maria@greenlane.example")],
            },
            {
                "id": BLUEBIRD,
                "resellerId": NORTHWIND,
                "name": "Bluebird Dental",
                "address": ADDRESS,
                "status": "creditHold",
            },
            {
                "id": BLUE_HARBOR,
                "resellerId": CONTOSO,
                "name": "Blue Harbor Marine",
                "address": ADDRESS,
            },
            {"id": LINDENHOF, "resellerId": FABRIKAM, "name": "Lindenhof GmbH", "address": ADDRESS},
        ],
        "products": [
            _product("P-1", "M365-BS", [{"type": "recurring", **_money("12.50")}]),
            _product(
                "P-2",
                "BKP-500",
                [{"type": "recurring", **_money("15.00")}, {"type": "setup", **_money("50.00")}],
            ),
            _product(
                "P-3",
                "STOR-GB",
                [{"type": "overuse", **_money("0.02")}],
                billingModel="chargeAfterBillingPeriod",
            ),
            _product(
                "P-4",
                "LEGACY-SD",
                [{"type": "recurring", **_money("9.00")}],
                billingPeriod={"type": "statement_day", "duration": 1},
            ),
        ],
        "subscriptions": [
            _subscription(
                "7000101", GREEN_LANE, "M365-BS", 12, created="2026-01-01", price="12.50"
            ),
            _subscription("7000102", BLUEBIRD, "BKP-500", 4, created="2026-11-21", price="15.00"),
            _subscription("7000103", GREEN_LANE, "STOR-GB", 0, created="2026-04-01", price="0.02"),
            _subscription(
                "7000104",
                BLUEBIRD,
                "LEGACY-SD",
                3,
                created="2025-05-01",
                price="9.00",
                period="statement_day",
            ),
            _subscription(
                "7000901", BLUE_HARBOR, "M365-BS", 40, created="2026-02-01", price="12.50"
            ),
            _subscription("7000951", LINDENHOF, "M365-BS", 7, created="2026-03-01", price="12.50"),
        ],
        "orders": [
            _order(
                "5000101",
                "SO0000101",
                "sales",
                customer=GREEN_LANE,
                subscription="7000101",
                created="2026-01-01T08:00:00Z",
                period=("2026-01-01", "2026-02-01"),
                lines=[_line("recurring", "M365-BS", 10, "12.50", "10.00")],
            ),
            _order(
                "5000417",
                "CH0000417",
                "change",
                customer=GREEN_LANE,
                subscription="7000101",
                created="2026-11-11T09:30:00Z",
                lines=[_line("recurring", "M365-BS", 2, "12.50", "10.00")],
            ),
            _order(
                "5000418",
                "CH0000418",
                "change",
                customer=BLUEBIRD,
                subscription="7000102",
                created="2026-11-25T14:05:00Z",
                lines=[_line("recurring", "BKP-500", -1, "15.00", "9.00")],
            ),
            _order(
                "5000392",
                "SO0000392",
                "sales",
                customer=BLUEBIRD,
                subscription="7000102",
                created="2026-11-21T11:00:00Z",
                lines=[
                    _line("recurring", "BKP-500", 5, "15.00", "9.00"),
                    _line("setup", "BKP-500", 1, "50.00", "20.00"),
                ],
            ),
            _order(
                "5000076",
                "BO0000076",
                "billing",
                customer=GREEN_LANE,
                subscription="7000103",
                created="2026-11-01T02:00:00Z",
                period=("2026-10-01", "2026-11-01"),
                lines=[
                    _line("overuse", "STOR-GB", 1250.5, "0.02", "0.012"),
                    _line("discount", "STOR-GB", 1, "5.00", "0.00"),
                    _line("overuse", "STOR-GB", "340", "0.02", "0.012"),
                ],
            ),
            _order(
                "5000394",
                "SO0000394",
                "sales",
                customer=BLUEBIRD,
                subscription="7000102",
                created="2026-11-23T17:40:00Z",
                status="processing",
                lines=[_line("recurring", "BKP-500", 2, "15.00", "9.00")],
            ),
            _order(
                "5000055",
                "RN0000055",
                "renewal",
                customer=GREEN_LANE,
                subscription="7000101",
                created="2026-11-15T00:10:00Z",
                lines=[_line("renew", "M365-BS", 12, "12.50", "10.00")],
            ),
            _order(
                "5000060",
                "MG0000060",
                "migration",
                customer=BLUEBIRD,
                subscription="7000104",
                created="2026-11-02T10:00:00Z",
            ),
            _order(
                "5000901",
                "SO0000901",
                "sales",
                customer=BLUE_HARBOR,
                subscription="7000901",
                created="2026-11-12T10:00:00Z",
                lines=[_line("recurring", "M365-BS", 40, "12.50", "10.00")],
            ),
            _order(
                "5000951",
                "SO0000951",
                "sales",
                customer=LINDENHOF,
                subscription="7000951",
                created="2026-11-13T10:00:00Z",
                lines=[_line("recurring", "M365-BS", 7, "12.50", "10.00")],
            ),
        ],
    }


# Northwind's orders, newest first, and the ones the client maps (migration is skipped).
NORTHWIND_ORDERS = [
    *("5000418", "5000394", "5000392", "5000055"),
    *("5000417", "5000060", "5000076", "5000101"),
]
NORTHWIND_MAPPED = [o for o in NORTHWIND_ORDERS if o != "5000060"]
