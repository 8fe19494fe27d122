"""Which ConnectWise company a marketplace customer is, and which catalog item a product is.

A customer without a mapping is matched automatically when exactly one ConnectWise company has
the same name (case-insensitive); a product when exactly one active catalog item carries its
MPN as ``manufacturerPartNumber``. Anything else waits for the reseller to map it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from psasync.adapters.http import AdapterError, VendorNotFound
from psasync.domain.agreements import CatalogItem, Company, ProductClass
from psasync.services.actor import Actor
from psasync.services.context import Services
from psasync.services.errors import Invalid
from psasync.services.integrations import psa_errors, psa_for
from psasync.services.ports import PsaPort
from psasync.services.tasks import TaskView
from psasync.store import (
    CustomerMapping,
    MappingSource,
    ProductMapping,
    SyncTask,
    TaskStatus,
    snapshots,
)
from psasync.store import tenants as store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CustomerMappingView:
    customer_id: str
    customer_name: str
    company_id: int | None
    company_name: str | None
    source: MappingSource | None


@dataclass(frozen=True)
class ProductMappingView:
    mpn: str
    catalog_item_id: int | None
    identifier: str | None
    source: MappingSource | None
    setup_catalog_item_id: int | None = None
    setup_identifier: str | None = None


@dataclass(frozen=True)
class MappedCatalog:
    """The catalog items of a plan's products: recurring by MPN, and setup-fee items where
    mapped."""

    items: dict[str, CatalogItem]
    setup_items: dict[str, CatalogItem]


def _same_name(company: Company, name: str) -> bool:
    return _name_key(company.name) == _name_key(name)


def _name_key(name: str) -> str:
    """What a customer's and a company's names are matched on: case and outer spaces aside."""
    return name.strip().casefold()


async def company_for(services: Services, actor: Actor, view: TaskView, psa: PsaPort) -> int | None:
    """The company of a task's customer that the caller found unmapped: the one company of its
    name, remembered for the next plans. A mapping saved meanwhile stands and is returned."""
    customer_id, customer_name = view.customer_id, view.customer_name
    try:
        match = await _company_named(psa, customer_name)
    except AdapterError:
        return None  # matching is a convenience: the reseller can still map by hand
    if match is None:
        return None
    async with services.db.session() as session:
        if await store.remember_customer_match(
            session,
            actor.tenant_id,
            customer_id=customer_id,
            company_id=match.id,
            company_name=match.name,
            by=actor.name,
            now=services.now(),
        ):
            return match.id
        # Mapped while the PSA was asked (by hand, or by another plan): that mapping stands.
        standing = await store.customer_mapping(session, actor.tenant_id, customer_id)
        return standing.company_id if standing is not None else None


async def _company_named(psa: PsaPort, name: str) -> Company | None:
    """The one company with exactly this name (case-insensitive); None if none or several."""
    matches = [company for company in await psa.companies(name=name) if _same_name(company, name)]
    return matches[0] if len(matches) == 1 else None


async def _item_with_mpn(psa: PsaPort, mpn: str) -> CatalogItem | None:
    """The one active catalog item carrying this MPN; None if none or several."""
    matches = await psa.catalog_by_mpn(mpn)
    return matches[0] if len(matches) == 1 else None


async def catalog_for(
    services: Services, actor: Actor, mpns: Iterable[str], psa: PsaPort
) -> MappedCatalog:
    """The catalog item of each MPN that is mapped or can be matched (others are left out), and
    the setup-fee item of each mapped one that has one."""
    wanted = sorted(set(mpns))
    async with services.db.read() as session:
        stored = await store.product_mappings(session, actor.tenant_id, wanted)
    return await _catalog_of_mpns(services, actor, wanted, stored, psa)


async def match_catalog(
    services: Services, actor: Actor, mpns: Iterable[str], psa: PsaPort
) -> MappedCatalog:
    """:func:`catalog_for` of MPNs the caller has just found unmapped: each matched by MPN
    the first time and remembered (a mapping saved meanwhile stands for the next plans)."""
    return await _catalog_of_mpns(services, actor, sorted(set(mpns)), {}, psa)


async def _catalog_of_mpns(
    services: Services,
    actor: Actor,
    wanted: Sequence[str],
    stored: Mapping[str, ProductMapping],
    psa: PsaPort,
) -> MappedCatalog:
    catalog = MappedCatalog(items={}, setup_items={})
    # Independent reads, so they go out together.
    found = await asyncio.gather(*(_catalog_of(psa, mpn, stored.get(mpn)) for mpn in wanted))
    for mpn, (item, setup, matched) in zip(wanted, found, strict=True):
        if item is not None:
            catalog.items[mpn] = item
        if setup is not None:
            catalog.setup_items[mpn] = setup
        if matched:
            await _remember_product(services, actor, mpn, matched)
    return catalog


async def _catalog_of(
    psa: PsaPort, mpn: str, mapping: ProductMapping | None
) -> tuple[CatalogItem | None, CatalogItem | None, CatalogItem | None]:
    """A product's (item, setup-fee item, item matched by MPN for the first time)."""
    if mapping is not None:
        setup_id = mapping.setup_catalog_item_id
        item, setup = await asyncio.gather(
            _mapped_item(psa, mpn, mapping.catalog_item_id),
            _mapped_item(psa, mpn, setup_id) if setup_id is not None else _nothing(),
        )
        return item, setup, None
    match = await _item_with_mpn(psa, mpn)
    return match, None, match


async def _nothing() -> None:
    return None


async def _mapped_item(psa: PsaPort, mpn: str, item_id: int) -> CatalogItem:
    try:
        return await psa.catalog_item(item_id)
    except VendorNotFound:
        raise Invalid(
            f"{mpn} is mapped to catalog item #{item_id}, which {psa.vendor} no longer has: "
            "map the product again.",
            code="MappedItemMissing",
            details={"mpn": mpn, "catalogItemId": item_id},
        ) from None


async def _item_to_map(psa: PsaPort, mpn: str, item_id: int, *, setup: bool = False) -> CatalogItem:
    """A recurring or setup-fee item to map: it must exist, and not be a Bundle (ConnectWise
    refuses bundles as agreement additions)."""
    item = await _mapped_item(psa, mpn, item_id)
    if item.product_class is ProductClass.BUNDLE:
        what, key = ("setup-fee item", "setupCatalogItemId") if setup else ("item", "catalogItemId")
        raise Invalid(
            f"catalog item {item.identifier} (#{item_id}) is a Bundle; ConnectWise does not "
            f"allow bundles as agreement additions: choose another {what} for {mpn}.",
            code="BundleItem",
            details={"mpn": mpn, key: item_id},
        )
    return item


async def _remember_product(services: Services, actor: Actor, mpn: str, item: CatalogItem) -> None:
    """Keep an automatic match for the next plans, unless the MPN was mapped meanwhile (by hand,
    or by another plan): that mapping stands."""
    async with services.db.session() as session:
        await store.remember_product_match(
            session,
            actor.tenant_id,
            mpn=mpn,
            catalog_item_id=item.id,
            identifier=item.identifier,
            by=actor.name,
            now=services.now(),
        )


# Customer mappings ------------------------------------------------------------------------------


async def customer_mappings(services: Services, actor: Actor) -> list[CustomerMappingView]:
    """Every customer psasync has seen, with its company; unmapped ones matched if possible."""
    async with services.db.session() as session:
        seen = await store.customers(session, actor.tenant_id)
        mapped = await store.customer_mappings(session, actor.tenant_id)
    unmapped = [customer for customer in seen if customer.customer_id not in mapped]
    if unmapped:
        await _match_customers(services, actor, [(c.customer_id, c.name) for c in unmapped])
        async with services.db.session() as session:
            mapped = await store.customer_mappings(session, actor.tenant_id)
    views = []
    for customer in seen:
        mapping = mapped.get(customer.customer_id)
        views.append(
            CustomerMappingView(
                customer_id=customer.customer_id,
                customer_name=customer.name,
                company_id=mapping.company_id if mapping else None,
                company_name=mapping.company_name if mapping else None,
                source=MappingSource(mapping.source) if mapping else None,
            )
        )
    return views


async def _match_customers(
    services: Services, actor: Actor, customers: Sequence[tuple[str, str]]
) -> None:
    try:
        psa = await _psa(services, actor)
        companies = await psa.companies()
    except (Invalid, AdapterError):
        return  # not connected or unreachable: the list shows them unmapped
    await remember_name_matches(services, actor, companies, customers)


async def remember_name_matches(
    services: Services,
    actor: Actor,
    companies: Sequence[Company],
    customers: Sequence[tuple[str, str]],
) -> dict[str, int]:
    """Map each (customer id, name) to the one company of exactly its name (case-insensitive),
    where the customer is not mapped yet; the company ids of the matches stored, by customer."""
    by_name: dict[str, list[Company]] = {}
    for company in companies:
        by_name.setdefault(_name_key(company.name), []).append(company)
    matched: dict[str, int] = {}
    async with services.db.session() as session:
        for customer_id, name in customers:
            matches = by_name.get(_name_key(name), [])
            if len(matches) == 1 and await store.remember_customer_match(
                session,
                actor.tenant_id,
                customer_id=customer_id,
                company_id=matches[0].id,
                company_name=matches[0].name,
                by=actor.name,
                now=services.now(),
            ):
                matched[customer_id] = matches[0].id
    return matched


async def _psa(services: Services, actor: Actor) -> PsaPort:
    return await psa_for(services, actor.tenant_id)


async def map_customers(
    services: Services, actor: Actor, pairs: Sequence[tuple[str, int]]
) -> list[CustomerMappingView]:
    """Map customers to companies by hand; every pair is checked before any is stored."""
    _no_repeats([customer_id for customer_id, _ in pairs], "customerId")
    psa = await _psa(services, actor)
    async with services.db.session() as session:
        known = {c.customer_id: c for c in await store.customers(session, actor.tenant_id)}
    unknown = [customer_id for customer_id, _ in pairs if customer_id not in known]
    if unknown:
        raise Invalid(
            f"unknown customers: {', '.join(unknown)}",
            code="UnknownCustomer",
            details={"customerIds": unknown},
        )
    companies = {}
    async with psa_errors(services, actor.tenant_id):
        for company_id in sorted({company_id for _, company_id in pairs}):
            companies[company_id] = await _company(psa, company_id)
    async with services.db.session() as session:
        for customer_id, company_id in pairs:
            await store.map_customer(
                session,
                actor.tenant_id,
                customer_id=customer_id,
                company_id=company_id,
                company_name=companies[company_id].name,
                source=MappingSource.MANUAL,
                by=actor.name,
                now=services.now(),
            )
    return await customer_mappings(services, actor)


async def _company(psa: PsaPort, company_id: int) -> Company:
    try:
        return await psa.company(company_id)
    except VendorNotFound:
        raise Invalid(
            f"{psa.vendor} has no company #{company_id}",
            code="UnknownCompany",
            details={"companyId": company_id},
        ) from None


async def customer_back_to_automatic(
    services: Services, actor: Actor, customer_id: str
) -> CustomerMappingView:
    """Forget a customer's hand-made mapping and match it as a new customer is: to the one
    company with exactly its name, else to nothing until the reseller maps it again.

    Only a mapping made by hand goes back (:class:`Invalid` otherwise, nothing changed); the
    new state is stored, as every mapping change, with who made it and when.
    """
    async with services.db.session() as session:
        known = {c.customer_id: c for c in await store.customers(session, actor.tenant_id)}
        mapping = await store.customer_mapping(session, actor.tenant_id, customer_id)
    customer = known.get(customer_id)
    if customer is None:
        raise Invalid(
            f"unknown customer: {customer_id}",
            code="UnknownCustomer",
            details={"customerIds": [customer_id]},
        )
    _mapped_by_hand(mapping, f"{customer.name} ({customer_id})")
    psa = await _psa(services, actor)
    async with psa_errors(services, actor.tenant_id):
        match = await _company_named(psa, customer.name)
    async with services.db.session() as session:
        if match is None:
            forgotten = await store.customer_mapping(session, actor.tenant_id, customer_id)
            if forgotten is not None:
                await session.delete(forgotten)
        else:
            await store.map_customer(
                session,
                actor.tenant_id,
                customer_id=customer_id,
                company_id=match.id,
                company_name=match.name,
                source=MappingSource.AUTOMATIC,
                by=actor.name,
                now=services.now(),
            )
    log.info(
        "tenant %s: %s put customer %s back to automatic (%s)",
        actor.tenant_id,
        actor.name,
        customer_id,
        f"company {match.id}" if match else "no single match",
    )
    return CustomerMappingView(
        customer_id=customer_id,
        customer_name=customer.name,
        company_id=match.id if match else None,
        company_name=match.name if match else None,
        source=MappingSource.AUTOMATIC if match else None,
    )


def _mapped_by_hand(mapping: CustomerMapping | ProductMapping | None, what: str) -> None:
    if mapping is None or MappingSource(mapping.source) is not MappingSource.MANUAL:
        raise Invalid(
            f"{what} is not mapped by hand, so there is nothing to put back to automatic",
            code="NotMappedByHand",
        )


def _no_repeats(values: Sequence[str], name: str) -> None:
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise Invalid(
            f"{name} listed more than once: {', '.join(repeated)}",
            code="DuplicateMapping",
            details={name: repeated},
        )


# Product mappings -------------------------------------------------------------------------------


async def product_mappings(services: Services, actor: Actor) -> list[ProductMappingView]:
    """Stored product mappings, and the MPNs of open tasks that have none yet."""
    async with services.db.session() as session:
        stored = await store.product_mappings(session, actor.tenant_id)
        open_orders = await session.scalars(
            select(SyncTask.order_json).where(
                SyncTask.tenant_id == actor.tenant_id,
                SyncTask.status.in_([TaskStatus.NEW.value, TaskStatus.FAILED.value]),
            )
        )
        mpns = {line.mpn for text in open_orders for line in snapshots.order_from_json(text).lines}
    views = [
        ProductMappingView(
            mpn=m.mpn,
            catalog_item_id=m.catalog_item_id,
            identifier=m.identifier,
            source=MappingSource(m.source),
            setup_catalog_item_id=m.setup_catalog_item_id,
            setup_identifier=m.setup_identifier,
        )
        for m in stored.values()
    ]
    views.extend(ProductMappingView(mpn, None, None, None) for mpn in mpns - stored.keys())
    return sorted(views, key=lambda view: view.mpn)


async def map_products(
    services: Services,
    actor: Actor,
    pairs: Sequence[tuple[str, int]],
    *,
    setup_items: Mapping[str, int | None] | None = None,
) -> list[ProductMappingView]:
    """Map MPNs to catalog items by hand; each item must exist and not be a Bundle.

    ``setup_items`` gives an MPN's setup-fee item (its id), whose catalog price setup fees take
    with ConnectWise prices; it must exist and not be a Bundle. ``None`` for an MPN removes its
    setup-fee item; an MPN left out keeps the one it had (a page that maps only the recurring
    item loses nothing). Every item is checked before any mapping is stored.
    """
    _no_repeats([mpn for mpn, _ in pairs], "mpn")
    blank = [mpn for mpn, _ in pairs if not mpn.strip()]
    if blank:
        raise Invalid("an MPN is empty", code="InvalidMpn")
    setup_ids = dict(setup_items or {})
    stray = sorted(setup_ids.keys() - {mpn for mpn, _ in pairs})
    if stray:
        raise Invalid(
            f"setup-fee items given for MPNs not being mapped: {', '.join(stray)}",
            code="InvalidMpn",
            details={"mpns": stray},
        )
    psa = await _psa(services, actor)
    async with psa_errors(services, actor.tenant_id):
        items = {mpn: await _item_to_map(psa, mpn, item_id) for mpn, item_id in pairs}
        setups = {
            mpn: await _item_to_map(psa, mpn, item, setup=True) if item is not None else None
            for mpn, item in setup_ids.items()
        }
    async with services.db.session() as session:
        stored = await store.product_mappings(session, actor.tenant_id, items)
        for mpn, item in items.items():
            setup_id, setup_identifier = _setup_of(setups, stored.get(mpn), mpn)
            await store.map_product(
                session,
                actor.tenant_id,
                mpn=mpn,
                catalog_item_id=item.id,
                identifier=item.identifier,
                source=MappingSource.MANUAL,
                by=actor.name,
                now=services.now(),
                setup_catalog_item_id=setup_id,
                setup_identifier=setup_identifier,
            )
    return await product_mappings(services, actor)


async def product_back_to_automatic(
    services: Services, actor: Actor, mpn: str
) -> ProductMappingView:
    """Forget a product's hand-made mapping (its setup-fee item too) and match it as a new
    product is: to the one active catalog item carrying its MPN, else to nothing until the
    reseller maps it again.

    Only a mapping made by hand goes back (:class:`Invalid` otherwise, nothing changed); the
    new state is stored, as every mapping change, with who made it and when.
    """
    async with services.db.session() as session:
        stored = await store.product_mappings(session, actor.tenant_id, [mpn])
    _mapped_by_hand(stored.get(mpn), mpn)
    psa = await _psa(services, actor)
    async with psa_errors(services, actor.tenant_id):
        match = await _item_with_mpn(psa, mpn)
    async with services.db.session() as session:
        if match is None:
            await store.unmap_products(session, actor.tenant_id, [mpn])
        else:
            await store.map_product(
                session,
                actor.tenant_id,
                mpn=mpn,
                catalog_item_id=match.id,
                identifier=match.identifier,
                source=MappingSource.AUTOMATIC,
                by=actor.name,
                now=services.now(),
            )
    log.info(
        "tenant %s: %s put product %s back to automatic (%s)",
        actor.tenant_id,
        actor.name,
        mpn,
        f"catalog item {match.id}" if match else "no single match",
    )
    return ProductMappingView(
        mpn=mpn,
        catalog_item_id=match.id if match else None,
        identifier=match.identifier if match else None,
        source=MappingSource.AUTOMATIC if match else None,
    )


def _setup_of(
    setups: Mapping[str, CatalogItem | None], stored: ProductMapping | None, mpn: str
) -> tuple[int | None, str | None]:
    """The setup-fee item an MPN is saved with: the one given (or None), else the one it had."""
    if mpn in setups:
        setup = setups[mpn]
        return (setup.id, setup.identifier) if setup is not None else (None, None)
    if stored is None:
        return None, None
    return stored.setup_catalog_item_id, stored.setup_identifier


@dataclass(frozen=True)
class CompanyChoice:
    """A ConnectWise company a customer can be mapped to."""

    id: int
    identifier: str
    name: str


@dataclass(frozen=True)
class CatalogChoice:
    """A ConnectWise catalog item a product can be mapped to."""

    id: int
    identifier: str
    description: str


# Pickers show the best matches; a reseller narrows a long list by typing.
CHOICES_SHOWN = 50


async def find_companies(services: Services, actor: Actor, text: str = "") -> list[CompanyChoice]:
    """Companies whose name or identifier contains ``text`` (all, if empty), by name."""
    psa = await _psa(services, actor)
    async with psa_errors(services, actor.tenant_id):
        found = await psa.find_companies(text, limit=CHOICES_SHOWN)
    return [CompanyChoice(id=c.id, identifier=c.identifier, name=c.name) for c in found]


async def find_catalog_items(
    services: Services, actor: Actor, text: str = ""
) -> list[CatalogChoice]:
    """Active catalog items whose identifier, description or MPN contains ``text``."""
    psa = await _psa(services, actor)
    async with psa_errors(services, actor.tenant_id):
        found = await psa.find_catalog_items(text, limit=CHOICES_SHOWN)
    return [
        CatalogChoice(id=item.id, identifier=item.identifier, description=item.description)
        for item in found
    ]
