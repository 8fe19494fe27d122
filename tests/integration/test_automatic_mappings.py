"""Automatic matches (a customer's company by name, a product's catalog item by MPN) are kept
for the next plans, but never over a mapping saved while the PSA was being asked: a match is
made from what was read before the vendor call, and the reseller's mapping by hand wins.
On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

import httpx
import pytest

from psasync.config import Settings
from psasync.domain.agreements import CatalogItem, Company, ProductClass
from psasync.domain.orders import OrderType
from psasync.services import Services
from psasync.services.actor import Actor
from psasync.services.mappings import catalog_for, company_for, match_catalog
from psasync.services.tasks import TaskView
from psasync.store import Database, MappingSource, TaskStatus
from psasync.store import tenants as store
from tests.integration.store.rows import add_tenant

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
CUSTOMER = "1000004242"
MPN = "CFQ7TTC0LH18"


class MatchingPsa:
    """A PSA with one company named like the customer and one item carrying the MPN. While it
    is asked for them, ``while_asked`` runs (a mapping saved by hand at that very moment)."""

    vendor = "ConnectWise"

    def __init__(self, while_asked: Callable[[], Awaitable[None]] | None = None) -> None:
        self.while_asked = while_asked

    async def _asked(self) -> None:
        if self.while_asked is not None:
            await self.while_asked()

    async def companies(self, *, name: str | None = None) -> list[Company]:
        await self._asked()
        company = Company(id=7, identifier="NorthwindTraders", name="Northwind Traders")
        return [company] if name in (None, company.name) else []

    async def catalog_by_mpn(self, mpn: str) -> list[CatalogItem]:
        await self._asked()
        return [
            CatalogItem(
                id=300,
                identifier=mpn,
                description="Microsoft 365 Business Basic",
                price=Decimal("6.00"),
                cost=Decimal("4.80"),
                product_class=ProductClass.AGREEMENT,
            )
        ]


@pytest.fixture
async def services(database: Database) -> Services:
    return Services(
        settings=Settings(database_url=database.url),
        db=database,
        http=httpx.AsyncClient(),
        secret_box=None,
        now=lambda: NOW,
    )


def task_of_customer() -> TaskView:
    return TaskView(
        id=1,
        order_id="order-1",
        order_number="SO000001",
        order_type=OrderType.SALES,
        customer_id=CUSTOMER,
        customer_name="Northwind Traders",
        subscription_id=None,
        status=TaskStatus.NEW,
        created_at=NOW,
        error=None,
        agreement_id=None,
        synced_at=None,
    )


def customer_by_hand(services: Services, tenant: int) -> Callable[[], Awaitable[None]]:
    async def save() -> None:
        async with services.db.session() as session:
            await store.map_customer(
                session,
                tenant,
                customer_id=CUSTOMER,
                company_id=99,
                company_name="Northwind (by hand)",
                source=MappingSource.MANUAL,
                by="alice",
                now=NOW,
            )

    return save


def product_by_hand(services: Services, tenant: int) -> Callable[[], Awaitable[None]]:
    async def save() -> None:
        async with services.db.session() as session:
            await store.map_product(
                session,
                tenant,
                mpn=MPN,
                catalog_item_id=900,
                identifier="M365-BB-HAND",
                source=MappingSource.MANUAL,
                by="alice",
                now=NOW,
            )

    return save


async def new_tenant(services: Services) -> int:
    """A tenant of its own (a PostgreSQL test database is shared by the session's tests)."""
    return await add_tenant(services.db, reseller_id=uuid.uuid4().hex[:12])


async def test_a_first_match_is_kept_for_the_next_plans(services: Services) -> None:
    tenant = await new_tenant(services)
    actor = Actor(tenant_id=tenant, name="bob")
    psa = MatchingPsa()
    assert await company_for(services, actor, task_of_customer(), psa) == 7  # type: ignore[arg-type]
    catalog = await match_catalog(services, actor, [MPN], psa)  # type: ignore[arg-type]
    assert catalog.items[MPN].id == 300
    async with services.db.read() as session:
        customer = await store.customer_mapping(session, tenant, CUSTOMER)
        products = await store.product_mappings(session, tenant, [MPN])
    assert customer is not None and customer.company_id == 7
    assert customer.source == MappingSource.AUTOMATIC.value and customer.updated_by == "bob"
    assert products[MPN].catalog_item_id == 300
    assert products[MPN].source == MappingSource.AUTOMATIC.value


async def test_a_mapping_saved_by_hand_while_the_psa_is_asked_stands(services: Services) -> None:
    tenant = await new_tenant(services)
    actor = Actor(tenant_id=tenant, name="bob")
    customer_psa = MatchingPsa(customer_by_hand(services, tenant))
    company = await company_for(services, actor, task_of_customer(), customer_psa)  # type: ignore[arg-type]
    product_psa = MatchingPsa(product_by_hand(services, tenant))
    await catalog_for(services, actor, [MPN], product_psa)  # type: ignore[arg-type]
    async with services.db.read() as session:
        customer = await store.customer_mapping(session, tenant, CUSTOMER)
        products = await store.product_mappings(session, tenant, [MPN])
    assert company == 99, "the plan must use the company the reseller chose, not the match"
    assert customer is not None
    assert (customer.company_id, customer.source) == (99, MappingSource.MANUAL.value)
    assert (products[MPN].catalog_item_id, products[MPN].source) == (
        900,
        MappingSource.MANUAL.value,
    )
