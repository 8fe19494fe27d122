"""Setup-fee items in product mappings, through the services against the sandbox: saved and
checked against the catalog, and the price a setup fee takes with ConnectWise prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from psasync.domain.plan import Action, AdditionKind, NoticeCode, PriceOrigin, PriceSource
from psasync.services import auth, mappings, planning
from psasync.services.errors import Invalid
from tests.e2e.conftest import NORTHWIND, World, task_id

pytestmark = pytest.mark.anyio

BACKUP = "BKP-CLOUD-500"  # catalog #303, 16.00 / 9.00 a month
# The demo catalog has no onboarding item: Endpoint Protection (#306, 39.00 / 27.00) stands in.
SETUP_ITEM = 306
BUNDLE = 390
CEDAR_RIDGE = 1221


async def test_a_setup_fee_item_is_saved_checked_and_prices_the_setup_fee(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "SO0000392")
    user = await auth.login(world.services, marketplace="us", **NORTHWIND)
    views = await mappings.map_products(
        world.services, user.actor, [(BACKUP, 303)], setup_items={BACKUP: SETUP_ITEM}
    )
    row = next(view for view in views if view.mpn == BACKUP)
    assert (row.catalog_item_id, row.setup_catalog_item_id, row.setup_identifier) == (
        303,
        SETUP_ITEM,
        "EPP-ANNUAL",
    )

    plan = await planning.preview(
        world.services,
        user.actor,
        task,
        agreement_id=CEDAR_RIDGE,
        price_source=PriceSource.CONNECTWISE,
    )
    (fee,) = (a for a in plan.actions if a.kind is AdditionKind.ONE_TIME)
    assert (fee.action, fee.unit_price, fee.unit_cost) == (
        Action.CREATE,
        Decimal("39.00"),
        Decimal("27.00"),
    )
    assert (fee.product.id, fee.price_origin) == (SETUP_ITEM, PriceOrigin.CATALOG)

    # Re-mapping only the recurring item (as the mappings page does) keeps the setup-fee item.
    views = await mappings.map_products(world.services, user.actor, [(BACKUP, 303)])
    assert next(v for v in views if v.mpn == BACKUP).setup_catalog_item_id == SETUP_ITEM
    # Removed: the fee keeps the marketplace's 50.00, with a warning.
    views = await mappings.map_products(
        world.services, user.actor, [(BACKUP, 303)], setup_items={BACKUP: None}
    )
    row = next(v for v in views if v.mpn == BACKUP)
    assert (row.setup_catalog_item_id, row.setup_identifier) == (None, None)
    plan = await planning.preview(
        world.services,
        user.actor,
        task,
        agreement_id=CEDAR_RIDGE,
        price_source=PriceSource.CONNECTWISE,
    )
    (fee,) = (a for a in plan.actions if a.kind is AdditionKind.ONE_TIME)
    assert (fee.unit_price, fee.product.id, fee.price_origin) == (
        Decimal("50.00"),
        303,
        PriceOrigin.MARKETPLACE,
    )
    assert NoticeCode.SETUP_PRICE_FROM_MARKETPLACE in {n.code for n in plan.notices}
    assert not plan.blocked


@pytest.mark.parametrize(
    ("setup_items", "code"),
    [
        ({BACKUP: BUNDLE}, "BundleItem"),
        ({BACKUP: 999999}, "MappedItemMissing"),
        ({"NOT-MAPPED": SETUP_ITEM}, "InvalidMpn"),
    ],
)
async def test_a_setup_fee_item_must_exist_and_not_be_a_bundle(
    world: World, setup_items: dict[str, int | None], code: str
) -> None:
    async with world.ready():
        pass
    user = await auth.login(world.services, marketplace="us", **NORTHWIND)
    with pytest.raises(Invalid) as refused:
        await mappings.map_products(
            world.services, user.actor, [(BACKUP, 303)], setup_items=setup_items
        )
    assert refused.value.code == code
    stored = {
        view.mpn: view for view in await mappings.product_mappings(world.services, user.actor)
    }
    assert BACKUP not in stored or stored[BACKUP].setup_catalog_item_id is None
