"""Tenants, their ConnectWise settings, customers and mappings: each tenant sees only its own."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from psasync.store import Database, MappingSource, Tenant
from psasync.store import autotask as autotask_store
from psasync.store import tenants as store
from tests.integration.store.rows import NOW, add_tenant, at, tenant_count

pytestmark = pytest.mark.anyio


async def test_the_first_login_creates_the_tenant(database: Database) -> None:
    async with database.session() as session:
        tenant = await store.upsert_tenant(
            session, marketplace="us", reseller_id="1000001", name="Northwind IT",
            currency="USD", now=NOW,
        )  # fmt: skip
        tenant_id = tenant.id
    async with database.session() as session:
        stored = await store.get_tenant(session, tenant_id)
        assert stored is not None
        assert (stored.marketplace, stored.reseller_id) == ("us", "1000001")
        assert (stored.name, stored.currency) == ("Northwind IT", "USD")
        assert stored.created_at == NOW
        assert stored.last_login_at == NOW
        assert stored.orders_checked_through is None


async def test_a_later_login_updates_the_same_tenant(database: Database) -> None:
    first = await add_tenant(database, "1000001")
    async with database.session() as session:
        tenant = await store.upsert_tenant(
            session, marketplace="us", reseller_id="1000001", name="Northwind IT Ltd",
            currency=None, now=at(60),
        )  # fmt: skip
        assert tenant.id == first
    async with database.session() as session:
        assert await tenant_count(session) == 1
        stored = await store.find_tenant(session, marketplace="us", reseller_id="1000001")
        assert stored is not None and stored.id == first
        assert stored.name == "Northwind IT Ltd"
        assert stored.last_login_at == at(60)
        assert stored.created_at == NOW
        # A login that does not say the currency keeps the one known.
        assert stored.currency == "USD"


async def test_the_same_reseller_id_on_another_marketplace_is_another_tenant(
    database: Database,
) -> None:
    us = await add_tenant(database, "1000001", marketplace="us")
    eu = await add_tenant(database, "1000001", marketplace="eu")
    assert us != eu
    async with database.session() as session:
        found = await store.find_tenant(session, marketplace="eu", reseller_id="1000001")
        assert found is not None and found.id == eu
        assert await store.find_tenant(session, marketplace="uk", reseller_id="1000001") is None
        assert await store.get_tenant(session, eu + us + 1) is None


async def test_two_rows_for_one_reseller_account_are_refused(database: Database) -> None:
    await add_tenant(database, "1000001")
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            session.add(
                Tenant(marketplace="us", reseller_id="1000001", name="Twin", created_at=NOW)
            )
    async with database.session() as session:
        assert await tenant_count(session) == 1


async def test_connectwise_settings_are_saved_replaced_and_kept_per_tenant(
    database: Database,
) -> None:
    mine, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    values = {
        "site_url": "https://na.myconnectwise.net",
        "company_id": "northwind",
        "public_key": "pub",
        "private_key_encrypted": "sealed",
        "client_id": "client-1",
        "updated_at": NOW,
        "updated_by": "anna",
    }
    async with database.session() as session:
        await store.save_connectwise_settings(session, mine, values)
    async with database.session() as session:
        await store.save_connectwise_settings(
            session, mine, {"public_key": "pub-2", "updated_at": at(5), "credit_downgrades": False}
        )
    async with database.session() as session:
        saved = await store.connectwise_settings(session, mine)
        assert saved is not None
        assert (saved.public_key, saved.company_id, saved.updated_at) == (
            "pub-2",
            "northwind",
            at(5),
        )
        assert saved.change_strategy == "replace"
        assert saved.credit_downgrades is False
        assert await store.connectwise_settings(session, other) is None


async def test_a_tenant_is_read_with_the_settings_of_each_psa_it_has(database: Database) -> None:
    connectwise, autotask = await add_tenant(database, "1"), await add_tenant(database, "2")
    neither = await add_tenant(database, "3")
    async with database.session() as session:
        await store.save_connectwise_settings(
            session, connectwise, {"site_url": "https://na.myconnectwise.net",
            "company_id": "northwind", "public_key": "pub", "private_key_encrypted": "sealed",
            "client_id": "client-1", "updated_at": NOW, "updated_by": "anna"},
        )  # fmt: skip
        await autotask_store.save_autotask_settings(
            session, autotask, {"username": "api@example.com", "secret_encrypted": "sealed",
            "integration_code_encrypted": "sealed", "zone_url": "https://webservices5.autotask.net",
            "updated_at": NOW, "updated_by": "anna"},
        )  # fmt: skip
    async with database.read() as session:
        cw = await store.tenant_with_settings(session, connectwise)
        at_ = await store.tenant_with_settings(session, autotask)
        none = await store.tenant_with_settings(session, neither)
        unknown = await store.tenant_with_settings(session, max(connectwise, autotask, neither) + 1)
    assert cw is not None and at_ is not None and none is not None
    assert (cw.tenant.id, cw.autotask) == (connectwise, None)
    assert cw.connectwise is not None and cw.connectwise.company_id == "northwind"
    assert (at_.tenant.id, at_.connectwise) == (autotask, None)
    assert at_.autotask is not None and at_.autotask.username == "api@example.com"
    assert (none.tenant.reseller_id, none.connectwise, none.autotask) == ("3", None, None)
    assert unknown is None


async def test_customers_are_remembered_renamed_and_listed_per_tenant(database: Database) -> None:
    mine, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    async with database.session() as session:
        await store.remember_customers(
            session, mine, {"C1": "zeta Corp", "C2": "Alpha GmbH"}, now=NOW
        )
        await store.remember_customers(session, other, {"C1": "Someone else's"}, now=NOW)
    async with database.session() as session:
        await store.remember_customers(session, mine, {"C1": "Zeta Corp", "C3": "beta"}, now=at(9))
    async with database.session() as session:
        listed = await store.customers(session, mine)
        assert [(c.customer_id, c.name) for c in listed] == [
            ("C2", "Alpha GmbH"),
            ("C3", "beta"),
            ("C1", "Zeta Corp"),
        ]
        assert {c.customer_id: c.seen_at for c in listed} == {"C1": at(9), "C2": NOW, "C3": at(9)}
        assert await store.customer_names(session, mine, ["C1", "C3", "C9", "C1"]) == {
            "C1": "Zeta Corp",
            "C3": "beta",
        }
        assert await store.customer_names(session, other, ["C1", "C2"]) == {"C1": "Someone else's"}


async def test_many_customer_names_are_read_in_chunks(database: Database) -> None:
    mine = await add_tenant(database)
    names = {f"C{n:04}": f"Customer {n}" for n in range(1200)}
    async with database.session() as session:
        await store.remember_customers(session, mine, names, now=NOW)
    async with database.session() as session:
        assert await store.customer_names(session, mine, [*names, "missing"]) == names


async def test_customer_mappings_are_per_tenant(database: Database) -> None:
    mine, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    async with database.session() as session:
        await store.map_customer(
            session, mine, customer_id="C1", company_id=250, company_name="Green Lane",
            source=MappingSource.AUTOMATIC, by="psasync", now=NOW,
        )  # fmt: skip
    async with database.session() as session:
        await store.map_customer(
            session, mine, customer_id="C1", company_id=251, company_name=None,
            source=MappingSource.MANUAL, by="anna", now=at(1),
        )  # fmt: skip
    async with database.session() as session:
        mapping = await store.customer_mapping(session, mine, "C1")
        assert mapping is not None
        assert (mapping.company_id, mapping.company_name, mapping.source) == (251, None, "manual")
        assert (mapping.updated_by, mapping.updated_at) == ("anna", at(1))
        assert list(await store.customer_mappings(session, mine)) == ["C1"]
        assert await store.customer_mapping(session, other, "C1") is None
        assert await store.customer_mappings(session, other) == {}


async def test_product_mappings_are_filtered_removed_and_per_tenant(database: Database) -> None:
    mine, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    async with database.session() as session:
        for mpn, item in [("E3", 9001), ("E5", 9002), ("BACKUP", 9003)]:
            await store.map_product(
                session, mine, mpn=mpn, catalog_item_id=item, identifier=f"ID-{mpn}",
                source=MappingSource.MANUAL, by="anna", now=NOW,
            )  # fmt: skip
        await store.map_product(
            session, other, mpn="E3", catalog_item_id=1, identifier=None,
            source=MappingSource.MANUAL, by="bob", now=NOW,
        )  # fmt: skip
    async with database.session() as session:
        wanted = await store.product_mappings(session, mine, ["E5", "E3", "E5", "NOPE"])
        assert {mpn: m.catalog_item_id for mpn, m in wanted.items()} == {"E3": 9001, "E5": 9002}
        await store.unmap_products(session, mine, ["E3", "BACKUP"])
    async with database.session() as session:
        assert list(await store.product_mappings(session, mine)) == ["E5"]
        others = await store.product_mappings(session, other)
        assert {mpn: m.catalog_item_id for mpn, m in others.items()} == {"E3": 1}
        rows = await session.scalars(select(Tenant.id).order_by(Tenant.id))
        assert list(rows) == sorted([mine, other])


async def test_a_product_mapping_keeps_an_optional_setup_fee_item(database: Database) -> None:
    tenant = await add_tenant(database, "1")
    async with database.session() as session:
        await store.map_product(
            session, tenant, mpn="E3", catalog_item_id=9001, identifier="M365-E3",
            source=MappingSource.MANUAL, by="anna", now=NOW,
            setup_catalog_item_id=9101, setup_identifier="M365-ONBOARD",
        )  # fmt: skip
    async with database.session() as session:
        mapping = (await store.product_mappings(session, tenant))["E3"]
        assert (mapping.catalog_item_id, mapping.identifier) == (9001, "M365-E3")
        assert (mapping.setup_catalog_item_id, mapping.setup_identifier) == (9101, "M365-ONBOARD")
        # A mapping is replaced as a whole: saved without a setup item, it has none.
        await store.map_product(
            session, tenant, mpn="E3", catalog_item_id=9002, identifier="M365-E5",
            source=MappingSource.MANUAL, by="anna", now=NOW, setup_identifier="ignored",
        )  # fmt: skip
    async with database.session() as session:
        mapping = (await store.product_mappings(session, tenant))["E3"]
        assert (mapping.catalog_item_id, mapping.setup_catalog_item_id) == (9002, None)
        assert mapping.setup_identifier is None
