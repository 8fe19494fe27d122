"""Reconciliation's notes name the tenant's PSA (ReconciliationOptions.psa): an Autotask
tenant's report says Autotask and Service, never ConnectWise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from psasync.domain.billing import PeriodLength, PeriodUnit
from psasync.domain.plan import PsaStyle
from psasync.domain.reconciliation import (
    CustomerSnapshot,
    MarketplaceProduct,
    MarketplaceSubscription,
    ReconciliationOptions,
    reconcile_customer,
)

D = dt.date(2026, 12, 1)
MONTHLY = PeriodLength(PeriodUnit.MONTH, 1)


def notes_of(customer: CustomerSnapshot, psa: PsaStyle) -> list[str]:
    items = reconcile_customer(customer, options=ReconciliationOptions(as_of=D, psa=psa))
    return [note for item in items for note in item.notes]


def test_an_unmapped_customer_and_product_name_the_tenants_psa() -> None:
    subscription = MarketplaceSubscription(
        id="7000701",
        billing_period=MONTHLY,
        currency="USD",
        products=(
            MarketplaceProduct(
                mpn="M365-BUS-STD", quantity=Decimal(3), unit_price=Decimal("12.50")
            ),
        ),
    )
    unmapped = CustomerSnapshot(customer_id="1", customer_name="Alder", company_id=None)
    unmapped_product = CustomerSnapshot(
        customer_id="1", customer_name="Alder", company_id=39100001, subscriptions=(subscription,)
    )
    assert notes_of(unmapped, PsaStyle.AUTOTASK) == [
        "The customer is not mapped to a company in Autotask: map it to reconcile it."
    ]
    assert notes_of(unmapped_product, PsaStyle.AUTOTASK) == [
        "Product M365-BUS-STD is not mapped to an Autotask Service."
    ]
    assert notes_of(unmapped_product, PsaStyle.CONNECTWISE) == [
        "Product M365-BUS-STD is not mapped to a ConnectWise catalog item."
    ]
