"""After every run psasync reads the agreement back: a surplus copy of its own making is
deleted and recorded; what it did not write is reported, never touched (DESIGN §6)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from psasync.adapters.connectwise import AdditionWrite, ConnectWiseClient, ConnectWiseSite
from psasync.domain.agreements import Addition
from psasync.store import SyncEvent
from tests.e2e.conftest import CONNECTWISE, SANDBOX, World, task_id
from tests.e2e.test_api_flow import GREEN_LANE_MANAGED

pytestmark = pytest.mark.anyio


def vendor(world: World) -> ConnectWiseClient:
    site = ConnectWiseSite(
        site_url=SANDBOX,
        company_id=CONNECTWISE["companyId"],
        public_key=CONNECTWISE["publicKey"],
        private_key=CONNECTWISE["privateKey"],
        client_id=CONNECTWISE["clientId"],
    )
    return ConnectWiseClient(world.vendor_http, site)


async def events(world: World) -> list[SyncEvent]:
    async with world.services.db.session() as session:
        return list(await session.scalars(select(SyncEvent).order_by(SyncEvent.id)))


async def plant_copy(world: World, key: str, *, like: Addition) -> int:
    """A second addition carrying ``key``, as a create ConnectWise applied late would leave."""
    copy = AdditionWrite(
        product_id=like.product.id,
        quantity=Decimal(2),
        unit_price=Decimal("12.50"),
        unit_cost=Decimal("9.00"),
        effective_date=dt.date(2026, 11, 15),
        cancelled_date=dt.date(2026, 11, 30),
        description="late copy",
    )
    planted = await vendor(world).create_addition(GREEN_LANE_MANAGED, copy, key=key)
    return planted.id


async def test_a_surplus_copy_of_a_key_is_deleted_and_recorded(world: World) -> None:
    async with world.ready() as client:
        task = await task_id(client, "CH0000417")
        before = await world.additions(GREEN_LANE_MANAGED)
        key = f"task:{task}:line1:prorate"
        # Two copies of one create, as a write ConnectWise applied twice (late) would leave.
        first = await plant_copy(world, key, like=before[0])
        second = await plant_copy(world, key, like=before[0])

        answer = await client.post(
            f"/api/v1/connectwise/tasks/{task}/sync", json={"agreementId": GREEN_LANE_MANAGED}
        )
        assert answer.status_code == 200, answer.text
        run = answer.json()["run"]
        # The first copy is taken as this task's own earlier write and set to the plan's values.
        prorate = next(a for a in run["actions"] if a["key"] == key)
        assert (prorate["outcome"], prorate["additionId"]) == ("applied", first)

        after = await world.additions(GREEN_LANE_MANAGED)
        copies = [a for a in after if a.sync_key == key]
        assert [a.id for a in copies] == [first] and second not in {a.id for a in after}
        (event,) = await events(world)
        assert (event.kind, event.key, event.addition_id) == ("surplus_deleted", key, second)
        assert "deleted" in event.message
