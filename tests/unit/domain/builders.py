"""Small builders of domain values with believable defaults, for the domain tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from psasync.domain.agreements import (
    Addition,
    Agreement,
    AgreementStatus,
    BillCustomer,
    CatalogItem,
    ProductClass,
    ProductRef,
)
from psasync.domain.billing import BillingCycle, BillingPeriod, PeriodLength, PeriodUnit
from psasync.domain.money import Currency, Money
from psasync.domain.orders import (
    LineType,
    Order,
    OrderLine,
    OrderStatus,
    OrderType,
    Subscription,
    SubscriptionProduct,
)
from psasync.domain.plan import Plan, PlanOptions, PriceSource, Task
from psasync.domain.planner import plan_additions

MONTHLY = PeriodLength(PeriodUnit.MONTH, 1)
NOVEMBER = BillingPeriod(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
USD = Currency("USD", 2)
E3 = "MS-365-E3"
BACKUP = "ACR-BACKUP-GB"


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def money(amount: str, currency: str = "USD") -> Money:
    return Money(Decimal(amount), currency)


def line(
    number: int = 1,
    *,
    type: LineType = LineType.RECURRING,
    mpn: str = E3,
    quantity: str = "5",
    price: str = "30.00",
    cost: str | None = "24.00",
    description: str = "Microsoft 365 E3",
    currency: str = "USD",
) -> OrderLine:
    return OrderLine(
        number=number,
        type=type,
        mpn=mpn,
        description=description,
        quantity=Decimal(quantity),
        unit_price=money(price, currency),
        unit_cost=money(cost, currency) if cost is not None else None,
    )


def order(
    type: OrderType = OrderType.SALES,
    *,
    on: str = "2026-11-11",
    lines: tuple[OrderLine, ...] = (),
    period: BillingPeriod | None = NOVEMBER,
    status: OrderStatus = OrderStatus.COMPLETED,
) -> Order:
    instant = dt.datetime.combine(d(on), dt.time(9, 30), tzinfo=dt.UTC)
    return Order(
        id="ORD-1",
        number="SO000012",
        type=type,
        status=status,
        customer_id="1000048531",
        subscription_id="SUB-1",
        created_at=instant - dt.timedelta(hours=2),
        provisioned_at=instant,
        last_billing_date=period.start if period else None,
        next_billing_date=period.end if period else None,
        lines=lines,
    )


def subscription(*products: tuple[str, str], created: str = "2026-01-01") -> Subscription:
    return Subscription(
        id="SUB-1",
        customer_id="1000048531",
        billing_period=MONTHLY,
        created_on=d(created),
        products=tuple(SubscriptionProduct(mpn, Decimal(q)) for mpn, q in products),
    )


def task(order_: Order, subscription_: Subscription | None = None, *, task_id: int = 7) -> Task:
    return Task.from_order(task_id=task_id, order=order_, subscription=subscription_)


def agreement(
    *,
    id: int = 501,
    company_id: int = 250,
    status: AgreementStatus = AgreementStatus.ACTIVE,
    cancelled: bool = False,
    cycle: BillingCycle | None = BillingCycle.MONTHLY,
    currency: Currency = USD,
    bill_start: str | None = "2026-01-01",
    prorate_flag: bool = False,
    invoiced_through: str | None = None,
) -> Agreement:
    return Agreement(
        id=id,
        name="Green Lane Managed 365",
        company_id=company_id,
        status=status,
        cancelled=cancelled,
        billing_cycle=cycle,
        currency=currency,
        bill_start_date=d(bill_start) if bill_start else None,
        prorate_flag=prorate_flag,
        invoiced_through=d(invoiced_through) if invoiced_through else None,
    )


def catalog_item(
    *,
    id: int = 9001,
    identifier: str = "M365-E3",
    price: str = "32.00",
    cost: str = "25.00",
    product_class: ProductClass = ProductClass.NON_INVENTORY,
    taxable: bool = True,
    description: str = "Microsoft 365 E3 (catalog)",
    customer_description: str = "Microsoft 365 E3 licence",
) -> CatalogItem:
    return CatalogItem(
        id=id,
        identifier=identifier,
        description=description,
        customer_description=customer_description,
        price=Decimal(price),
        cost=Decimal(cost),
        product_class=product_class,
        taxable=taxable,
    )


def setup_item(
    *, price: str = "50.00", cost: str = "20.00", product_class: ProductClass = ProductClass.SERVICE
) -> CatalogItem:
    """The E3 product's setup-fee item (its onboarding), priced as a one-time fee."""
    return catalog_item(
        id=9101,
        identifier="M365-ONBOARD",
        price=price,
        cost=cost,
        product_class=product_class,
        taxable=False,
        description="Microsoft 365 onboarding (catalog)",
        customer_description="Microsoft 365 onboarding",
    )


def addition(
    *,
    id: int = 3001,
    product_id: int = 9001,
    quantity: str = "5",
    price: str = "30.00",
    cost: str = "24.00",
    effective: str | None = "2026-01-01",
    cancelled: str | None = None,
    bill_customer: BillCustomer = BillCustomer.BILLABLE,
    sync_key: str | None = None,
) -> Addition:
    return Addition(
        id=id,
        product=ProductRef(id=product_id, identifier="M365-E3"),
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        unit_cost=Decimal(cost),
        effective_date=d(effective) if effective else None,
        cancelled_date=d(cancelled) if cancelled else None,
        bill_customer=bill_customer,
        taxable=True,
        description="Microsoft 365 E3",
        invoice_description="Microsoft 365 E3 licence",
        sync_key=sync_key,
    )


def plan_for(
    placed: Order,
    additions: Sequence[Addition] = (),
    *,
    held: Subscription | None = None,
    source: PriceSource = PriceSource.MARKETPLACE,
    options: PlanOptions | None = None,
    target: Agreement | None = None,
    catalog: Mapping[str, CatalogItem] | None = None,
    line_sources: Mapping[int, PriceSource] | None = None,
    setup_items: Mapping[str, CatalogItem] | None = None,
) -> Plan:
    """The plan of task 7 for ``placed`` on the default agreement, E3 mapped to the catalog."""
    return plan_additions(
        task=task(placed, held),
        agreement=target or agreement(),
        additions=additions,
        catalog={E3: catalog_item()} if catalog is None else catalog,
        price_source=source,
        options=options,
        line_price_sources=line_sources,
        setup_items=setup_items,
    )
