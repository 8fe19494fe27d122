"""Every scenario of the built-in demo, read through both clients and planned by the domain.

The demo fixture (src/psasync/sandbox/demo.yaml) is what a new user sees first, so its numbers
are pinned here: each order is read from the marketplace sandbox, its customer's agreements and
additions from the ConnectWise sandbox, and the plan's amounts are checked to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest

from psasync.adapters.connectwise import ConnectWiseClient, ConnectWiseSite, field
from psasync.adapters.marketplace import MarketplaceClient, MarketplaceSession, NotFound
from psasync.domain.agreements import Agreement
from psasync.domain.eligibility import ReasonCode, SubscriptionTerms, check_eligibility
from psasync.domain.money import Currency
from psasync.domain.orders import Order, OrderStatus, Subscription
from psasync.domain.plan import (
    Action,
    AdditionKind,
    NoticeCode,
    Plan,
    PriceOrigin,
    PriceSource,
    Task,
)
from psasync.domain.planner import plan_additions
from psasync.sandbox.fixture import DEMO_FIXTURE, load_fixture
from psasync.sandbox.server import build_sandbox

pytestmark = pytest.mark.anyio

USD = Currency("USD")
BASE = "http://sandbox.test"


@dataclass
class Demo:
    marketplace: MarketplaceSession
    connectwise: ConnectWiseClient

    async def order(self, number: str) -> Order:
        orders = await self.marketplace.list_orders()
        return next(order for order in orders.items if order.number == number)

    async def company_id(self, customer_id: str) -> int | None:
        customer = await self.marketplace.get_customer(customer_id)
        companies = await self.connectwise.companies(conditions=field("name").eq(customer.name))
        return companies[0].id if len(companies) == 1 else None

    async def agreements(self, company_id: int) -> dict[str, Agreement]:
        found = await self.connectwise.company_agreements(company_id, default_currency=USD)
        return {agreement.name: agreement for agreement in found}

    async def task(self, number: str) -> tuple[Task, Subscription]:
        order = await self.order(number)
        assert order.subscription_id is not None
        subscription = await self.marketplace.get_subscription(order.subscription_id)
        return Task.from_order(task_id=1, order=order, subscription=subscription), subscription

    async def plan(
        self,
        number: str,
        *,
        agreement: str,
        price_source: PriceSource = PriceSource.MARKETPLACE,
        setup_items: dict[str, int] | None = None,
    ) -> Plan:
        task, _ = await self.task(number)
        company_id = await self.company_id(task.order.customer_id)
        assert company_id is not None
        chosen = (await self.agreements(company_id))[agreement]
        catalog = {}
        for line in task.order.lines:
            (item,) = await self.connectwise.catalog_by_mpn(line.mpn)
            catalog[line.mpn] = item
        setup = {
            mpn: await self.connectwise.catalog_item(item_id)
            for mpn, item_id in (setup_items or {}).items()
        }
        return plan_additions(
            task=task,
            agreement=chosen,
            additions=await self.connectwise.additions(chosen.id),
            catalog=catalog,
            price_source=price_source,
            setup_items=setup,
        )

    async def reasons(self, number: str) -> dict[str, set[ReasonCode]]:
        task, subscription = await self.task(number)
        company_id = await self.company_id(task.order.customer_id)
        assert company_id is not None
        terms = SubscriptionTerms(
            company_id=company_id,
            billing_period=subscription.billing_period,
            currency="USD",
            first_effective_date=task.change_date,
            next_period_start=task.period.end,
        )
        return {
            name: {reason.code for reason in check_eligibility(agreement, terms=terms).reasons}
            for name, agreement in (await self.agreements(company_id)).items()
        }


@pytest.fixture
async def demo() -> AsyncIterator[Demo]:
    sandbox = build_sandbox(load_fixture(DEMO_FIXTURE))
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        marketplace = MarketplaceClient(
            http,
            base_url=f"{BASE}/marketplace/us",
            code="us",
            subscription_key="demo-us-gateway-key",
        )
        session = await marketplace.login(
            username="demo@northwind-it.example", password="northwind-demo"
        )
        site = ConnectWiseSite(
            site_url=BASE,
            company_id="northwind",
            public_key="demoPublicKey01",
            private_key="demoPrivateKey01",
            client_id="5b1c2a6e-3f4d-4e8a-9c1b-7d2e6f8a9b0c",
        )
        yield Demo(marketplace=session, connectwise=await ConnectWiseClient.connect(http, site))


def amounts(plan: Plan) -> tuple[Decimal, Decimal, Decimal]:
    return plan.prorated_amount, plan.recurring_amount_before, plan.recurring_amount_after


def summary(plan: Plan) -> list[tuple[Action, AdditionKind, Decimal, Decimal]]:
    return [(a.action, a.kind, a.quantity, a.unit_price) for a in plan.actions]


async def test_the_demo_reseller_sees_its_new_orders_and_no_one_elses(demo: Demo) -> None:
    assert demo.marketplace.reseller.name == "Northwind IT"
    orders = (await demo.marketplace.list_orders()).items
    numbers = {order.number for order in orders}
    assert {"CH0000417", "CH0000418", "SO0000392", "BO0000076", "CH0000419"} <= numbers
    assert not {"CH0000901", "SO0000902"} & numbers, "Contoso's orders leaked"
    with pytest.raises(NotFound):
        await demo.marketplace.get_order("5000901")
    customers = (await demo.marketplace.list_customers()).items
    assert len(customers) >= 8 and "Blue Harbor Marine" not in {c.name for c in customers}


async def test_green_lane_upgrade_the_seeds_example(demo: Demo) -> None:
    plan = await demo.plan("CH0000417", agreement="Green Lane - Managed Cloud")
    # 10 → 12 seats on 11 Nov: 20 of 30 days at 12.50 = 8.33 a seat, for the 2 new seats.
    assert summary(plan) == [
        (Action.CANCEL, AdditionKind.RECURRING, Decimal(10), Decimal("12.50")),
        (Action.CREATE, AdditionKind.RECURRING, Decimal(12), Decimal("12.50")),
        (Action.CREATE, AdditionKind.PRORATE, Decimal(2), Decimal("8.33")),
    ]
    # The backup addition (2 × 16.00) keeps billing alongside.
    assert amounts(plan) == (Decimal("16.66"), Decimal("157.00"), Decimal("182.00"))
    assert not plan.notices


async def test_green_lane_priced_from_the_connectwise_catalog(demo: Demo) -> None:
    plan = await demo.plan(
        "CH0000417", agreement="Green Lane - Managed Cloud", price_source=PriceSource.CONNECTWISE
    )
    # Recurring price from the existing addition; a catalog price is not prorated.
    assert amounts(plan) == (Decimal("0.00"), Decimal("157.00"), Decimal("182.00"))
    assert NoticeCode.PARTIAL_PERIOD_NOT_CHARGED in {notice.code for notice in plan.notices}


async def test_green_lane_has_one_eligible_agreement_and_three_reasons(demo: Demo) -> None:
    assert await demo.reasons("CH0000417") == {
        "Green Lane - Managed Cloud": set(),
        "Green Lane - Annual Licensing": {ReasonCode.WRONG_BILLING_CYCLE},
        "Green Lane - Canada Office": {ReasonCode.WRONG_CURRENCY},
        "Green Lane - Legacy Support": {ReasonCode.NOT_ACTIVE, ReasonCode.CANCELLED},
    }


async def test_bluebird_downgrade_credits_the_rest_of_the_month(demo: Demo) -> None:
    plan = await demo.plan("CH0000418", agreement="Bluebird Dental - Managed Cloud")
    # 15 → 12 seats on 16 Nov: 15 of 30 days at 22.00 = 11.00 a seat, credited for 3 seats.
    assert amounts(plan) == (Decimal("-33.00"), Decimal("330.00"), Decimal("264.00"))


async def test_cedar_ridge_new_subscription_with_a_setup_fee(demo: Demo) -> None:
    plan = await demo.plan("SO0000392", agreement="Cedar Ridge - Managed Services")
    # 5 seats from 21 Nov: 10 of 30 days at 15.00 = 5.00 a seat; recurring from 1 Dec.
    assert amounts(plan) == (Decimal("25.00"), Decimal("0.00"), Decimal("75.00"))
    (setup,) = [a for a in plan.actions if a.kind is AdditionKind.ONE_TIME]
    assert (setup.quantity, setup.unit_price, setup.unit_cost) == (
        Decimal(1),
        Decimal("50.00"),
        Decimal("20.00"),
    )
    recurring = next(a for a in plan.actions if a.kind is AdditionKind.RECURRING)
    assert recurring.effective_date == dt.date(2026, 12, 1)


async def test_cedar_ridge_setup_fee_priced_from_its_setup_fee_item(demo: Demo) -> None:
    # Cloud Backup's setup-fee item is "Cloud Backup onboarding" (#307, 55.00 / 20.00): with
    # ConnectWise prices the fee bills it, not the monthly item's 16.00 / 9.00.
    plan = await demo.plan(
        "SO0000392",
        agreement="Cedar Ridge - Managed Services",
        price_source=PriceSource.CONNECTWISE,
        setup_items={"BKP-CLOUD-500": 307},
    )
    (setup,) = [a for a in plan.actions if a.kind is AdditionKind.ONE_TIME]
    assert (setup.action, setup.quantity, setup.unit_price, setup.unit_cost) == (
        Action.CREATE,
        Decimal(1),
        Decimal("55.00"),
        Decimal("20.00"),
    )
    assert (setup.product.id, setup.price_origin) == (307, PriceOrigin.CATALOG)
    assert NoticeCode.SETUP_PRICE_FROM_MARKETPLACE not in {n.code for n in plan.notices}
    assert not plan.blocked
    # The recurring seats keep the monthly item: 5 × 16.00 from 1 Dec.
    assert amounts(plan) == (Decimal("0.00"), Decimal("0.00"), Decimal("80.00"))

    # Without a setup-fee item the fee keeps the marketplace's price, and the plan says so.
    plan = await demo.plan(
        "SO0000392",
        agreement="Cedar Ridge - Managed Services",
        price_source=PriceSource.CONNECTWISE,
    )
    (setup,) = [a for a in plan.actions if a.kind is AdditionKind.ONE_TIME]
    assert (setup.unit_price, setup.unit_cost, setup.product.id) == (
        Decimal("50.00"),
        Decimal("20.00"),
        303,
    )
    assert NoticeCode.SETUP_PRICE_FROM_MARKETPLACE in {n.code for n in plan.notices}


async def test_summit_usage_is_billed_once_for_october(demo: Demo) -> None:
    plan = await demo.plan("BO0000076", agreement="Summit PT - Cloud Services")
    usage = [(a.quantity, plan.extended_price(a)) for a in plan.actions]
    assert usage == [(Decimal("1250.5"), Decimal("25.01")), (Decimal(340), Decimal("17.00"))]
    assert {(a.effective_date, a.cancelled_date) for a in plan.actions} == {
        (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    }
    assert amounts(plan) == (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))


async def test_riverside_annual_upgrade_prorates_over_the_year(demo: Demo) -> None:
    plan = await demo.plan("CH0000419", agreement="Riverside Vet - Annual Security")
    # +5 devices on 5 Nov 2026 in the year from 1 Mar 2026: 116 of 365 days at 36.00 = 11.44.
    assert summary(plan)[-1] == (Action.CREATE, AdditionKind.PRORATE, Decimal(5), Decimal("11.44"))
    assert amounts(plan) == (Decimal("57.20"), Decimal("720.00"), Decimal("900.00"))


@pytest.mark.parametrize(
    ("number", "agreement", "reason"),
    [
        ("SO0000393", "Oakwood - Quarterly IT", ReasonCode.WRONG_BILLING_CYCLE),
        ("CH0000420", "Maple Street - Managed Cloud (CAD)", ReasonCode.WRONG_CURRENCY),
        ("CH0000421", "Pinecrest - Managed Cloud", ReasonCode.CANCELLED),
    ],
)
async def test_customers_whose_only_agreement_does_not_fit(
    demo: Demo, number: str, agreement: str, reason: ReasonCode
) -> None:
    reasons = await demo.reasons(number)
    assert list(reasons) == [agreement]
    assert reason in reasons[agreement]


async def test_an_order_still_processing_is_visible_but_not_completed(demo: Demo) -> None:
    completed = await demo.marketplace.list_orders(status=OrderStatus.COMPLETED)
    assert "SO0000394" not in {order.number for order in completed.items}
    assert (await demo.order("SO0000394")).status is OrderStatus.PROCESSING


async def test_a_renewal_changes_nothing(demo: Demo) -> None:
    plan = await demo.plan("RN0000055", agreement="Granite Peak - Managed Cloud")
    assert plan.actions == ()
    assert amounts(plan) == (Decimal("0.00"), Decimal("250.00"), Decimal("250.00"))


async def test_willow_creek_needs_its_company_mapped_by_hand(demo: Demo) -> None:
    order = await demo.order("SO0000395")
    assert await demo.company_id(order.customer_id) is None
    (company,) = await demo.connectwise.companies(conditions=field("name").like("Willow Creek%"))
    assert company.name == "Willow Creek Farms, Inc."


async def test_lakeside_is_invoiced_through_the_period_so_its_change_is_blocked(
    demo: Demo,
) -> None:
    # Invoiced in advance on 25 Oct for the month to 24 Nov (nextInvoiceDate 25 Nov); +2 seats
    # on 30 Oct would bill 26 of 31 days at 12.50 = 10.48 a seat inside that invoiced month.
    assert await demo.reasons("CH0000416") == {"Lakeside - Managed Cloud": set()}
    plan = await demo.plan("CH0000416", agreement="Lakeside - Managed Cloud")
    assert plan.invoiced_through == dt.date(2026, 11, 24)
    assert summary(plan) == [
        (Action.CANCEL, AdditionKind.RECURRING, Decimal(6), Decimal("12.50")),
        (Action.CREATE, AdditionKind.RECURRING, Decimal(8), Decimal("12.50")),
        (Action.CREATE, AdditionKind.PRORATE, Decimal(2), Decimal("10.48")),
    ]
    assert plan.blocked
    (invoiced,) = [n for n in plan.notices if n.code is NoticeCode.PERIOD_INVOICED]
    assert invoiced.line == 1 and "task:1:line1:prorate" in invoiced.message
    assert "2026-11-24" in invoiced.message
    # Ending the six seats on the last invoiced day, and the eight from 25 Nov, are fine.
    cancel, recurring, _ = plan.actions
    assert (cancel.cancelled_date, recurring.effective_date) == (
        dt.date(2026, 11, 24),
        dt.date(2026, 11, 25),
    )


async def test_lakeside_agreement_reads_as_invoiced_and_nothing_was_written(demo: Demo) -> None:
    (agreement,) = (await demo.agreements(261)).values()
    assert agreement.invoiced_through == dt.date(2026, 11, 24)
    assert [(a.id, a.quantity) for a in await demo.connectwise.additions(1311)] == [
        (9111, Decimal(6))
    ]


async def test_harborview_cancellation_deletes_the_addition_that_has_not_started(
    demo: Demo,
) -> None:
    # June's change left 12 devices to 31 Jan 2027 and 15 from 1 Feb 2027; cancelled on
    # 29 Oct, the 15 never bill: deleted, not "cancelled" on their own start date.
    plan = await demo.plan("CA0000031", agreement="Harborview - Annual Security")
    assert summary(plan) == [(Action.DELETE, AdditionKind.RECURRING, Decimal(15), Decimal(36))]
    (delete,) = plan.actions
    assert (delete.addition_id, delete.key) == (9122, "task:1:line1:delete")
    assert amounts(plan) == (Decimal("0.00"), Decimal("540.00"), Decimal("0.00"))
    assert not plan.notices
    assert await demo.reasons("CA0000031") == {"Harborview - Annual Security": set()}
