"""Typed, paginated reads: orders (mapping, paging, filters), subscriptions, customers, products,
and one reseller never seeing another's objects."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from psasync.adapters.marketplace import (
    MarketplaceClient,
    MarketplaceSession,
    NotFound,
    SkipKind,
    UnsupportedOrder,
    UnsupportedSubscription,
)
from psasync.domain.billing import PeriodLength, PeriodUnit
from psasync.domain.money import Money
from psasync.domain.orders import LineType, OrderStatus, OrderType
from tests.integration.marketplace.conftest import Sandbox
from tests.integration.marketplace.data import (
    ALICE,
    BLUE_HARBOR,
    BLUEBIRD,
    GREEN_LANE,
    LINDENHOF,
    NORTHWIND_MAPPED,
)
from tests.integration.marketplace.spec import SpecChecker

pytestmark = pytest.mark.anyio

UTC = dt.UTC


@pytest.fixture
async def alice(client: MarketplaceClient) -> MarketplaceSession:
    return await client.login(**ALICE)


async def test_all_orders_are_read_through_pages_newest_first(
    alice: MarketplaceSession, sandbox: Sandbox, spec: SpecChecker
) -> None:
    before = spec.checked
    listing = await alice.list_orders()
    assert [order.id for order in listing.items] == NORTHWIND_MAPPED
    # Eight orders at three a page: offsets 0, 3 and 6.
    assert sandbox.calls.snapshot()[("GET", "/orders")] == 3
    assert spec.checked - before == 3


async def test_orders_psasync_does_not_sync_and_lines_it_does_not_bill_are_skipped_with_reasons(
    alice: MarketplaceSession,
) -> None:
    listing = await alice.list_orders()
    reasons = {(s.kind, s.id, s.line): s.reason for s in listing.skipped}
    assert reasons == {
        (SkipKind.ORDER, "5000060", None): "order type 'migration' is not one psasync syncs",
        (SkipKind.ORDER_LINE, "5000076", 2): "line type 'discount' is not one psasync bills",
        (SkipKind.ORDER_LINE, "5000055", 1): "line type 'renew' is not one psasync bills",
    }


async def test_a_change_order_maps_to_domain_facts(alice: MarketplaceSession) -> None:
    result = await alice.get_order("5000417")
    order = result.order
    assert (order.number, order.type, order.status) == (
        "CH0000417",
        OrderType.CHANGE,
        OrderStatus.COMPLETED,
    )
    assert (order.customer_id, order.subscription_id) == (GREEN_LANE, "7000101")
    assert order.created_at == dt.datetime(2026, 11, 11, 9, 30, tzinfo=UTC)
    assert order.provisioned_at == order.created_at
    assert (order.last_billing_date, order.next_billing_date) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 12, 1),
    )
    (line,) = order.lines
    assert (line.number, line.type, line.mpn, line.quantity) == (
        1,
        LineType.RECURRING,
        "M365-BS",
        Decimal(2),
    )
    assert line.unit_price == Money(Decimal("12.50"), "USD")
    assert line.unit_cost == Money(Decimal("10.00"), "USD")
    assert result.skipped == ()


async def test_a_downgrade_line_keeps_its_negative_change(alice: MarketplaceSession) -> None:
    order = (await alice.get_order("5000418")).order
    assert [line.quantity for line in order.lines] == [Decimal(-1)]


async def test_a_billing_order_keeps_usage_quantities_exact_and_line_positions(
    alice: MarketplaceSession,
) -> None:
    result = await alice.get_order("5000076")
    order = result.order
    assert order.type is OrderType.BILLING
    assert (order.last_billing_date, order.next_billing_date) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 11, 1),
    )
    assert [(line.number, line.type, line.quantity) for line in order.lines] == [
        (1, LineType.OVERUSE, Decimal("1250.5")),
        (3, LineType.OVERUSE, Decimal("340")),
    ]
    assert all(isinstance(line.quantity, Decimal) for line in order.lines)
    assert [s.line for s in result.skipped] == [2]


async def test_a_sales_order_has_its_setup_fee_line(alice: MarketplaceSession) -> None:
    order = (await alice.get_order("5000392")).order
    assert [(line.type, line.quantity, line.unit_price.amount) for line in order.lines] == [
        (LineType.RECURRING, Decimal(5), Decimal("15.00")),
        (LineType.SETUP, Decimal(1), Decimal("50.00")),
    ]


async def test_a_processing_order_is_read_as_pending(alice: MarketplaceSession) -> None:
    order = (await alice.get_order("5000394")).order
    assert order.status.is_pending and order.provisioned_at is None


async def test_reading_an_order_psasync_does_not_sync_is_a_clear_error(
    alice: MarketplaceSession,
) -> None:
    with pytest.raises(UnsupportedOrder, match="order type 'migration'") as raised:
        await alice.get_order("5000060")
    assert raised.value.correlation_id


async def test_orders_filtered_by_status(alice: MarketplaceSession) -> None:
    listing = await alice.list_orders(status=OrderStatus.PROCESSING)
    assert [order.id for order in listing.items] == ["5000394"]
    with pytest.raises(ValueError, match="'done' is not one of"):
        await alice.list_orders(status="done")


async def test_orders_filtered_by_customer_and_subscription(alice: MarketplaceSession) -> None:
    by_customer = await alice.list_orders(customer_id=BLUEBIRD)
    assert [order.id for order in by_customer.items] == ["5000418", "5000394", "5000392"]
    assert [s.id for s in by_customer.skipped] == ["5000060"]
    by_subscription = await alice.list_orders(subscription_id="7000101")
    assert [order.id for order in by_subscription.items] == ["5000055", "5000417", "5000101"]
    both = await alice.list_orders(customer_id=GREEN_LANE, status="completed")
    assert [order.id for order in both.items] == ["5000055", "5000417", "5000076", "5000101"]


async def test_orders_filtered_by_creation_time_both_ends_included(
    alice: MarketplaceSession,
) -> None:
    listing = await alice.list_orders(
        created_from=dt.datetime(2026, 11, 11, 9, 30, tzinfo=UTC),
        created_to=dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    assert [order.id for order in listing.items] == ["5000392", "5000055", "5000417"]
    with pytest.raises(ValueError, match="needs a timezone"):
        await alice.list_orders(created_from=dt.datetime(2026, 11, 1))  # noqa: DTZ001


async def test_another_resellers_objects_are_not_found(alice: MarketplaceSession) -> None:
    for read, object_id in (
        (alice.get_order, "5000901"),
        (alice.get_customer, BLUE_HARBOR),
        (alice.get_subscription, "7000901"),
        (alice.get_order, "5000951"),  # another marketplace's, too
        (alice.get_customer, LINDENHOF),
    ):
        with pytest.raises(NotFound) as raised:
            await read(object_id)
        assert raised.value.status == 404 and raised.value.correlation_id


async def test_lists_hold_only_the_resellers_own_objects(alice: MarketplaceSession) -> None:
    assert "5000901" not in {o.id for o in (await alice.list_orders()).items}
    assert not (await alice.list_orders(customer_id=BLUE_HARBOR)).items
    customers = (await alice.list_customers()).items
    assert [c.id for c in customers] == [BLUEBIRD, GREEN_LANE]
    subscriptions = (await alice.list_subscriptions(customer_id=BLUE_HARBOR)).items
    assert subscriptions == ()


async def test_an_unknown_id_is_not_found_and_ids_cannot_escape_their_path(
    alice: MarketplaceSession,
) -> None:
    with pytest.raises(NotFound):
        await alice.get_order("9999999")
    with pytest.raises(NotFound):
        await alice.get_order("../customers/1000048531")


async def test_customers_are_found_by_name_and_external_id(alice: MarketplaceSession) -> None:
    assert [c.id for c in (await alice.list_customers(name="green")).items] == [GREEN_LANE]
    assert [c.id for c in (await alice.list_customers(external_id="GL-1")).items] == [GREEN_LANE]
    by_mail = await alice.list_customers(email="MARIA@greenlane.example")
    assert [c.id for c in by_mail.items] == [GREEN_LANE]
    bluebird = await alice.get_customer(BLUEBIRD)
    assert (bluebird.name, bluebird.status, bluebird.reseller_id) == (
        "Bluebird Dental",
        "creditHold",
        "1000001",
    )


async def test_a_subscription_maps_to_its_period_and_current_quantities(
    alice: MarketplaceSession,
) -> None:
    subscription = await alice.get_subscription("7000101")
    assert subscription.customer_id == GREEN_LANE
    assert subscription.billing_period == PeriodLength(PeriodUnit.MONTH, 1)
    assert subscription.created_on == dt.date(2026, 1, 1)
    assert subscription.quantity_of("M365-BS") == Decimal(12)


async def test_a_statement_day_subscription_is_skipped_in_lists_and_refused_alone(
    alice: MarketplaceSession,
) -> None:
    listing = await alice.list_subscriptions()
    assert [s.id for s in listing.items] == ["7000102", "7000103", "7000101"]
    assert [(s.kind, s.id) for s in listing.skipped] == [(SkipKind.SUBSCRIPTION, "7000104")]
    assert "statement_day" in listing.skipped[0].reason
    with pytest.raises(UnsupportedSubscription, match="statement_day"):
        await alice.get_subscription("7000104")


async def test_subscriptions_filtered_by_status(alice: MarketplaceSession) -> None:
    assert len((await alice.list_subscriptions(status="active")).items) == 3
    assert (await alice.list_subscriptions(status="terminated")).items == ()


async def test_products_with_prices_as_money(alice: MarketplaceSession) -> None:
    listing = await alice.list_products()
    assert [p.mpn for p in listing.items] == ["M365-BS", "BKP-500", "STOR-GB", "LEGACY-SD"]
    backup = (await alice.list_products(mpn="BKP-500")).items[0]
    assert [(p.type, p.money) for p in backup.prices] == [
        ("recurring", Money(Decimal("15.00"), "USD")),
        ("setup", Money(Decimal("50.00"), "USD")),
    ]
    assert backup.billing_period == PeriodLength(PeriodUnit.MONTH, 1)
    legacy = next(p for p in listing.items if p.mpn == "LEGACY-SD")
    assert legacy.billing_period is None, "statement_day cannot be a domain period"
