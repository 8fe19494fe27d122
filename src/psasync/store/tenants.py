"""Tenants, their ConnectWise settings, the customers they have seen and their mappings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Executable, Table, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.store.models import (
    AutotaskSettings,
    ConnectWiseSettings,
    Customer,
    CustomerMapping,
    MappingSource,
    ProductMapping,
    Tenant,
)

# Frequent reads (every plan's, every mapping look-up's), built once: a session.get builds its
# SELECT and that SELECT's cache key on every call.
_GET_TENANT = select(Tenant).where(Tenant.id == bindparam("tenant"))
# A tenant with both PSAs' settings, in one statement rather than three (what a plan reads).
_GET_TENANT_WITH_SETTINGS = (
    select(Tenant, ConnectWiseSettings, AutotaskSettings)
    .outerjoin(ConnectWiseSettings, ConnectWiseSettings.tenant_id == Tenant.id)
    .outerjoin(AutotaskSettings, AutotaskSettings.tenant_id == Tenant.id)
    .where(Tenant.id == bindparam("tenant"))
)
_GET_CONNECTWISE_SETTINGS = select(ConnectWiseSettings).where(
    ConnectWiseSettings.tenant_id == bindparam("tenant")
)
_GET_CUSTOMER_MAPPING = select(CustomerMapping).where(
    CustomerMapping.tenant_id == bindparam("tenant"),
    CustomerMapping.customer_id == bindparam("customer"),
)
_GET_PRODUCT_MAPPINGS = select(ProductMapping).where(
    ProductMapping.tenant_id == bindparam("tenant"),
    ProductMapping.mpn.in_(bindparam("mpns", expanding=True)),
)


def _if_absent(model: type[CustomerMapping] | type[ProductMapping]) -> dict[str, Executable]:
    """An INSERT of one row that does nothing when the row's key is taken, in each dialect."""
    table = model.__table__
    assert isinstance(table, Table)  # noqa: S101 - declarative models map tables
    # Its key comes back only when the row went in. (Through a session on PostgreSQL, the row
    # count of a conflicting INSERT came back non-zero: the key returned is what is relied on.)
    inserted = table.c.tenant_id
    return {
        "sqlite": sqlite.insert(table).on_conflict_do_nothing().returning(inserted),
        "postgresql": postgresql.insert(table).on_conflict_do_nothing().returning(inserted),
    }


# An automatic match is written only where no mapping exists: the match was made from what was
# read before a vendor call, and a mapping saved meanwhile (by hand, or by another plan) stands.
_NEW_CUSTOMER_MATCH = _if_absent(CustomerMapping)
_NEW_PRODUCT_MATCH = _if_absent(ProductMapping)


async def _insert_if_absent(
    session: AsyncSession, statements: Mapping[str, Executable], row: Mapping[str, object]
) -> bool:
    statement = statements[session.get_bind().dialect.name]
    result = await session.execute(statement, dict(row))
    return result.first() is not None


async def upsert_tenant(
    session: AsyncSession,
    *,
    marketplace: str,
    reseller_id: str,
    name: str,
    currency: str | None,
    now: dt.datetime,
) -> Tenant:
    """The tenant of a reseller account, created on its first login, its name kept current."""
    tenant = await session.scalar(
        select(Tenant).where(Tenant.marketplace == marketplace, Tenant.reseller_id == reseller_id)
    )
    if tenant is None:
        tenant = Tenant(marketplace=marketplace, reseller_id=reseller_id, name=name, created_at=now)
        session.add(tenant)
    tenant.name = name
    tenant.currency = currency or tenant.currency
    tenant.last_login_at = now
    await session.flush()
    return tenant


async def get_tenant(session: AsyncSession, tenant_id: int) -> Tenant | None:
    return (await session.scalars(_GET_TENANT, {"tenant": tenant_id})).first()


@dataclass(frozen=True)
class TenantWithSettings:
    """A tenant and what is stored of each PSA's settings (None: that PSA not configured)."""

    tenant: Tenant
    connectwise: ConnectWiseSettings | None
    autotask: AutotaskSettings | None


async def tenant_with_settings(session: AsyncSession, tenant_id: int) -> TenantWithSettings | None:
    """The tenant with both PSAs' settings (one statement); None for an unknown tenant."""
    row = (await session.execute(_GET_TENANT_WITH_SETTINGS, {"tenant": tenant_id})).first()
    if row is None:
        return None
    tenant, connectwise, autotask = row
    return TenantWithSettings(tenant, connectwise, autotask)


async def find_tenant(
    session: AsyncSession, *, marketplace: str, reseller_id: str
) -> Tenant | None:
    found = await session.scalars(
        select(Tenant).where(Tenant.marketplace == marketplace, Tenant.reseller_id == reseller_id)
    )
    return found.first()


async def connectwise_settings(session: AsyncSession, tenant_id: int) -> ConnectWiseSettings | None:
    return (await session.scalars(_GET_CONNECTWISE_SETTINGS, {"tenant": tenant_id})).first()


async def save_connectwise_settings(
    session: AsyncSession, tenant_id: int, values: Mapping[str, object]
) -> ConnectWiseSettings:
    """Create or replace the tenant's settings with ``values`` (column name → value)."""
    settings = await session.get(ConnectWiseSettings, tenant_id)
    if settings is None:
        settings = ConnectWiseSettings(tenant_id=tenant_id)
        session.add(settings)
    for name, value in values.items():
        setattr(settings, name, value)
    await session.flush()
    return settings


# Customers seen in the marketplace -------------------------------------------------------------


async def customer_names(
    session: AsyncSession, tenant_id: int, customer_ids: Iterable[str]
) -> dict[str, str]:
    ids = sorted(set(customer_ids))
    names: dict[str, str] = {}
    for chunk in _chunks(ids):
        rows = await session.execute(
            select(Customer.customer_id, Customer.name).where(
                Customer.tenant_id == tenant_id, Customer.customer_id.in_(chunk)
            )
        )
        names.update({row.customer_id: row.name for row in rows})
    return names


async def remember_customers(
    session: AsyncSession, tenant_id: int, names: Mapping[str, str], *, now: dt.datetime
) -> None:
    """Store or refresh the names of these customers."""
    existing: dict[str, Customer] = {}
    for chunk in _chunks(sorted(names)):
        known = await session.scalars(
            select(Customer).where(Customer.tenant_id == tenant_id, Customer.customer_id.in_(chunk))
        )
        existing.update({customer.customer_id: customer for customer in known})
    for customer_id, name in names.items():
        customer = existing.get(customer_id)
        if customer is None:
            session.add(
                Customer(tenant_id=tenant_id, customer_id=customer_id, name=name, seen_at=now)
            )
        else:
            customer.name, customer.seen_at = name, now
    await session.flush()


async def customers(session: AsyncSession, tenant_id: int) -> list[Customer]:
    result = await session.scalars(
        select(Customer).where(Customer.tenant_id == tenant_id).order_by(func.lower(Customer.name))
    )
    return list(result)


# Mappings ---------------------------------------------------------------------------------------


async def customer_mapping(
    session: AsyncSession, tenant_id: int, customer_id: str
) -> CustomerMapping | None:
    found = await session.scalars(
        _GET_CUSTOMER_MAPPING, {"tenant": tenant_id, "customer": customer_id}
    )
    return found.first()


async def remember_customer_match(
    session: AsyncSession,
    tenant_id: int,
    *,
    customer_id: str,
    company_id: int,
    company_name: str | None,
    by: str,
    now: dt.datetime,
) -> bool:
    """Store an automatic match unless the customer is mapped already; whether it was stored."""
    return await _insert_if_absent(
        session,
        _NEW_CUSTOMER_MATCH,
        {
            "tenant_id": tenant_id,
            "customer_id": customer_id,
            "company_id": company_id,
            "company_name": company_name,
            "source": MappingSource.AUTOMATIC.value,
            "updated_at": now,
            "updated_by": by,
        },
    )


async def customer_mappings(session: AsyncSession, tenant_id: int) -> dict[str, CustomerMapping]:
    rows = await session.scalars(
        select(CustomerMapping).where(CustomerMapping.tenant_id == tenant_id)
    )
    return {row.customer_id: row for row in rows}


async def map_customer(
    session: AsyncSession,
    tenant_id: int,
    *,
    customer_id: str,
    company_id: int,
    company_name: str | None,
    source: MappingSource,
    by: str,
    now: dt.datetime,
) -> CustomerMapping:
    mapping = await session.get(CustomerMapping, (tenant_id, customer_id))
    if mapping is None:
        mapping = CustomerMapping(tenant_id=tenant_id, customer_id=customer_id)
        session.add(mapping)
    mapping.company_id, mapping.company_name = company_id, company_name
    mapping.source, mapping.updated_by, mapping.updated_at = source.value, by, now
    await session.flush()
    return mapping


async def product_mappings(
    session: AsyncSession, tenant_id: int, mpns: Iterable[str] | None = None
) -> dict[str, ProductMapping]:
    if mpns is None:
        query = select(ProductMapping).where(ProductMapping.tenant_id == tenant_id)
        return {row.mpn: row for row in await session.scalars(query)}
    found = await session.scalars(
        _GET_PRODUCT_MAPPINGS, {"tenant": tenant_id, "mpns": sorted(set(mpns))}
    )
    return {row.mpn: row for row in found}


async def remember_product_match(
    session: AsyncSession,
    tenant_id: int,
    *,
    mpn: str,
    catalog_item_id: int,
    identifier: str | None,
    by: str,
    now: dt.datetime,
) -> bool:
    """Store an automatic match (no setup-fee item) unless the MPN is mapped already; whether
    it was stored."""
    return await _insert_if_absent(
        session,
        _NEW_PRODUCT_MATCH,
        {
            "tenant_id": tenant_id,
            "mpn": mpn,
            "catalog_item_id": catalog_item_id,
            "identifier": identifier,
            "setup_catalog_item_id": None,
            "setup_identifier": None,
            "source": MappingSource.AUTOMATIC.value,
            "updated_at": now,
            "updated_by": by,
        },
    )


async def map_product(
    session: AsyncSession,
    tenant_id: int,
    *,
    mpn: str,
    catalog_item_id: int,
    identifier: str | None,
    source: MappingSource,
    by: str,
    now: dt.datetime,
    setup_catalog_item_id: int | None = None,
    setup_identifier: str | None = None,
) -> ProductMapping:
    """Map an MPN to its recurring catalog item and, optionally, its setup-fee item.

    The mapping is replaced as a whole: no setup item given means the product has none.
    """
    mapping = await session.get(ProductMapping, (tenant_id, mpn))
    if mapping is None:
        mapping = ProductMapping(tenant_id=tenant_id, mpn=mpn)
        session.add(mapping)
    mapping.catalog_item_id, mapping.identifier = catalog_item_id, identifier
    mapping.setup_catalog_item_id = setup_catalog_item_id
    mapping.setup_identifier = setup_identifier if setup_catalog_item_id is not None else None
    mapping.source, mapping.updated_by, mapping.updated_at = source.value, by, now
    await session.flush()
    return mapping


async def unmap_products(session: AsyncSession, tenant_id: int, mpns: Iterable[str]) -> None:
    await session.execute(
        delete(ProductMapping).where(
            ProductMapping.tenant_id == tenant_id, ProductMapping.mpn.in_(list(mpns))
        )
    )


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    # Bound IN lists: SQLite caps bound parameters per statement.
    for start in range(0, len(items), size):
        yield items[start : start + size]
