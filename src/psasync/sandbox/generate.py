"""Generated sandbox fixtures of any size, for benchmarks and load tests.

``generate_fixture`` writes the same format as the demo (DESIGN.md §4): one reseller with N
customers, each with a ConnectWise company of the same name and a monthly USD agreement, S
subscriptions spread over them, and M new orders in one billing month — Change Orders on
subscriptions whose current quantity ConnectWise already holds as an addition, Sales Orders that
start new subscriptions, and Billing Orders for last month's usage. The output is deterministic
for a given seed, and every order is one a sync can apply: its agreement is eligible and each
product is in the catalog.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psasync.domain.billing import add_months

RESELLER_ID = "2000001"
FIRST_CUSTOMER_ID = 3_000_000
FIRST_COMPANY_ID = 10_000
FIRST_SUBSCRIPTION_ID = 8_000_000
FIRST_ORDER_ID = 6_000_000
LOGIN = {"username": "bench@northwind-it.example", "password": "northwind-bench"}
CONNECTWISE_CREDENTIALS = {
    "companyId": "northwind",
    "publicKey": "benchPublicKey01",
    "privateKey": "benchPrivateKey01",
    "clientId": "0f8fad5b-d9cb-469f-a165-70867728950e",
}

ADDRESS = {
    "streetAddress": "1 Main St",
    "postalCode": "98101",
    "city": "Seattle",
    "countryCode": "US",
}


@dataclass(frozen=True)
class Catalogued:
    mpn: str
    name: str
    price: Decimal
    cost: Decimal
    line_type: str  # how its orders bill: "recurring" or "overuse"

    @property
    def billing_model(self) -> str:
        """Usage bills after the period; seats bill before it."""
        if self.line_type == "overuse":
            return "chargeAfterBillingPeriod"
        return "chargeBeforeBillingPeriod"


_PRODUCT_TABLE = (
    # mpn, name, monthly price, cost, how its orders bill
    ("GEN-M365-BS", "Microsoft 365 Business Standard", "12.50", "10.00", "recurring"),
    ("GEN-M365-BP", "Microsoft 365 Business Premium", "22.00", "17.60", "recurring"),
    ("GEN-BACKUP", "Cloud Backup 500 GB", "15.00", "9.00", "recurring"),
    ("GEN-EXO-P1", "Exchange Online Plan 1", "4.00", "3.20", "recurring"),
    ("GEN-TEAMS", "Teams Essentials", "4.00", "3.20", "recurring"),
    ("GEN-EPP", "Endpoint Protection", "3.50", "2.60", "recurring"),
    ("GEN-MAIL-SEC", "Email Security", "2.75", "1.90", "recurring"),
    ("GEN-STORAGE-GB", "Cloud Storage per GB", "0.02", "0.012", "overuse"),
)
PRODUCTS = tuple(
    Catalogued(mpn, name, Decimal(price), Decimal(cost), line_type)
    for mpn, name, price, cost, line_type in _PRODUCT_TABLE
)


def _money(amount: Decimal) -> dict[str, str]:
    return {"currency": "USD", "amount": str(amount)}


def _instant(day: dt.date, *, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00Z"


class _Builder:
    """Accumulates both sections; one method per kind of record."""

    def __init__(self, *, seed: int, month: dt.date) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        self.month = month
        self.next_month = add_months(month, 1)
        self.marketplace: dict[str, list[dict[str, Any]]] = {
            "customers": [],
            "subscriptions": [],
            "orders": [],
        }
        self.connectwise: dict[str, list[dict[str, Any]]] = {
            "companies": [],
            "agreements": [],
            "additions": [],
        }

    def customer(self, number: int) -> tuple[str, int]:
        customer_id = str(FIRST_CUSTOMER_ID + number)
        company_id = FIRST_COMPANY_ID + number
        name = f"Customer {number:05d} LLC"
        self.marketplace["customers"].append(
            {
                "id": customer_id,
                "resellerId": RESELLER_ID,
                "name": name,
                "status": "active",
                "language": "en",
                "address": ADDRESS,
                "contactPersons": [
                    {
                        "type": "admin",
                        "firstName": "Pat",
                        "lastName": f"Doe{number}",
                        "email": f"pat{number}@customer.example",
                        "phoneNumber": "+1 206 555 0100",
                    }
                ],
            }
        )
        self.connectwise["companies"].append(
            {"id": company_id, "identifier": f"Cust{number:05d}", "name": name}
        )
        self.connectwise["agreements"].append(
            {
                "id": company_id,
                "name": f"{name} - Managed Cloud",
                "type": {"id": 1},
                "company": {"id": company_id},
                "billingCycle": {"id": 1},
                "currency": {"id": 1},
                "startDate": "2025-01-01",
                "billStartDate": "2025-01-01",
                "agreementStatus": "Active",
                "cancelledFlag": False,
                "prorateFlag": False,
            }
        )
        return customer_id, company_id

    def subscription(
        self, *, number: int, customer_id: str, product: Catalogued, quantity: int, since: dt.date
    ) -> str:
        subscription_id = str(FIRST_SUBSCRIPTION_ID + number)
        self.marketplace["subscriptions"].append(
            {
                "id": subscription_id,
                "customerId": customer_id,
                "name": product.name,
                "status": "active",
                "billingModel": product.billing_model,
                "billingPeriod": {"type": "month", "duration": 1},
                "subscriptionPeriod": {"type": "year", "duration": 1},
                "creationDate": since.isoformat(),
                "products": [
                    {
                        "mpn": product.mpn,
                        "quantity": quantity,
                        "unitPrice": _money(product.price),
                        "unitCost": _money(product.cost),
                    }
                ],
            }
        )
        return subscription_id

    def addition(self, *, agreement_id: int, product_index: int, quantity: int) -> None:
        product = PRODUCTS[product_index]
        self.connectwise["additions"].append(
            {
                "id": 100_000 + len(self.connectwise["additions"]),
                "agreementId": agreement_id,
                "product": {"id": 1 + product_index},
                "quantity": quantity,
                "unitPrice": str(product.price),
                "unitCost": str(product.cost),
                "billCustomer": "Billable",
                "effectiveDate": "2025-01-01",
                "taxableFlag": False,
                "description": product.name,
                "invoiceDescription": product.name,
            }
        )

    def order(
        self,
        *,
        number: int,
        kind: str,
        customer_id: str,
        subscription_id: str,
        line: dict[str, Any],
        day: dt.date,
    ) -> None:
        prefix = {"change": "CH", "sales": "SO", "billing": "BO"}[kind]
        period = (
            (add_months(self.month, -1), self.month)
            if kind == "billing"
            else (self.month, self.next_month)
        )
        self.marketplace["orders"].append(
            {
                "id": str(FIRST_ORDER_ID + number),
                "orderNumber": f"{prefix}{number:07d}",
                "type": kind,
                "customerId": customer_id,
                "subscriptionId": subscription_id,
                "status": "completed",
                "creationDate": _instant(day, hour=9),
                "provisioningDate": _instant(day, hour=10),
                "lastBillingDate": period[0].isoformat(),
                "nextBillingDate": period[1].isoformat(),
                "details": [line],
            }
        )


def _line(product: Catalogued, *, line_type: str, quantity: int | Decimal) -> dict[str, Any]:
    return {
        "type": line_type,
        "mpn": product.mpn,
        "description": product.name,
        "quantity": str(quantity) if isinstance(quantity, Decimal) else quantity,
        "unitPrice": _money(product.price),
        "unitCost": _money(product.cost),
        "duration": {"type": "month", "duration": 1},
    }


def generate_fixture(
    *, customers: int, subscriptions: int, orders: int, month: dt.date, seed: int = 0
) -> dict[str, Any]:
    """A fixture (as plain data, ready for ``parse_fixture`` or a JSON file).

    ``month`` is the first day of the billing month the new orders fall in. Needs
    ``customers ≤ subscriptions ≤ customers × len(PRODUCTS)``: a customer holds each product at
    most once, so its agreement never has two ongoing additions of one product; and
    ``orders ≤ subscriptions``: each order changes its own subscription, so every task can be
    synced independently.
    """
    if not 1 <= customers <= subscriptions:
        raise ValueError("need at least one customer, and no more customers than subscriptions")
    if subscriptions > customers * len(PRODUCTS):
        raise ValueError(
            f"a customer holds each of the {len(PRODUCTS)} products at most once: "
            f"subscriptions ≤ {customers * len(PRODUCTS)}"
        )
    if not 0 <= orders <= subscriptions:
        raise ValueError("each order needs its own subscription: orders ≤ subscriptions")
    if month.day != 1:
        raise ValueError(f"month must be the first day of a month, not {month.isoformat()}")
    build = _Builder(seed=seed, month=month)
    owners = [build.customer(number) for number in range(customers)]
    # Customer c's k-th subscription holds product (first[c] + k): never the same one twice.
    first = [build.rng.randrange(len(PRODUCTS)) for _ in owners]
    for number in range(subscriptions):
        customer, k = number % customers, number // customers
        _subscription_with_order(
            build,
            number=number,
            owner=owners[customer],
            product_index=(first[customer] + k) % len(PRODUCTS),
            with_order=number < orders,
        )
    return _document(build)


def _subscription_with_order(
    build: _Builder, *, number: int, owner: tuple[str, int], product_index: int, with_order: bool
) -> None:
    rng, (customer_id, agreement_id) = build.rng, owner
    product = PRODUCTS[product_index]
    day = build.month + dt.timedelta(days=rng.randrange(27))
    if product.line_type == "overuse":
        subscription_id = build.subscription(
            number=number,
            customer_id=customer_id,
            product=product,
            quantity=0,
            since=dt.date(2025, 1, 1),
        )
        if with_order:
            usage = Decimal(rng.randrange(1, 500_000)) / 100
            build.order(
                number=number,
                kind="billing",
                customer_id=customer_id,
                subscription_id=subscription_id,
                day=build.month,
                line=_line(product, line_type="overuse", quantity=usage),
            )
        return
    old = rng.randrange(1, 50)
    if with_order and rng.random() < 0.3:  # a new subscription, started by a Sales Order
        subscription_id = build.subscription(
            number=number, customer_id=customer_id, product=product, quantity=old, since=day
        )
        build.order(
            number=number,
            kind="sales",
            customer_id=customer_id,
            subscription_id=subscription_id,
            day=day,
            line=_line(product, line_type="recurring", quantity=old),
        )
        return
    change = rng.choice([d for d in range(-old + 1, 11) if d != 0]) if with_order else 0
    subscription_id = build.subscription(
        number=number,
        customer_id=customer_id,
        product=product,
        quantity=old + change,
        since=dt.date(2025, 1, 1),
    )
    build.addition(agreement_id=agreement_id, product_index=product_index, quantity=old)
    if with_order:
        build.order(
            number=number,
            kind="change",
            customer_id=customer_id,
            subscription_id=subscription_id,
            day=day,
            line=_line(product, line_type="recurring", quantity=change),
        )


def _document(build: _Builder) -> dict[str, Any]:
    marketplace = {
        "marketplaces": [
            {
                "code": "us",
                "name": "Cloud Marketplace US",
                "currency": "USD",
                "subscriptionKey": "bench-us-gateway-key",
            }
        ],
        "resellers": [
            {
                "id": RESELLER_ID,
                "name": "Northwind IT (benchmark)",
                "marketplace": "us",
                "currency": "USD",
                "language": "en",
                "address": ADDRESS,
                "contactPersons": [
                    {
                        "type": "admin",
                        "firstName": "Nancy",
                        "lastName": "Davolio",
                        "email": "nancy@northwind-it.example",
                        "phoneNumber": "+1 206 555 0100",
                    }
                ],
                "users": [LOGIN],
            }
        ],
        "products": [_product(product, index) for index, product in enumerate(PRODUCTS)],
        **build.marketplace,
    }
    connectwise = {
        "credentials": [CONNECTWISE_CREDENTIALS],
        "currencies": [
            {"id": 1, "currencyIdentifier": "USD", "name": "US Dollar", "numberOfDecimals": 2}
        ],
        "billingCycles": [
            {"id": 1, "identifier": "M", "name": "Monthly", "billingOptions": "Monthly"}
        ],
        "agreementTypes": [{"id": 1, "name": "Cloud Licensing"}],
        "catalog": [
            {
                "id": 1 + index,
                "identifier": product.mpn,
                "description": product.name,
                "customerDescription": product.name,
                "price": str(product.price),
                "cost": str(product.cost),
                "productClass": "Service",
                "manufacturerPartNumber": product.mpn,
            }
            for index, product in enumerate(PRODUCTS)
        ],
        **build.connectwise,
    }
    return {"marketplace": marketplace, "connectwise": connectwise}


def _product(product: Catalogued, index: int) -> dict[str, Any]:
    return {
        "id": f"GEN-{index + 1}",
        "mpn": product.mpn,
        "name": product.name,
        "vendor": "Generated",
        "billingModel": product.billing_model,
        "billingPeriod": {"type": "month", "duration": 1},
        "prices": [{"type": product.line_type, **_money(product.price)}],
        "costs": [{"type": product.line_type, **_money(product.cost)}],
    }
