"""Check Changes as a use case: the watermark moves only with the tasks it covers, orders still
processing wait, and a marketplace failing mid-way leaves nothing half-made."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from psasync.sandbox.faults import FaultSettings
from psasync.sandbox.fixture import DEMO_FIXTURE, SandboxFixture, load_fixture
from psasync.sandbox.server import build_sandbox
from psasync.services import UpstreamFailed, UserSession, auth, check_changes
from psasync.services import tasks as task_service
from psasync.store import tenants
from tests.e2e.conftest import NORTHWIND, NOW, SANDBOX, World

pytestmark = pytest.mark.anyio

ASPEN_CREATED = dt.datetime(2026, 11, 23, 17, 40, tzinfo=dt.UTC)


def with_aspen_completed(fixture: SandboxFixture) -> SandboxFixture:
    orders = [
        order.model_copy(update={"status": "completed"}) if order.id == "5000394" else order
        for order in fixture.marketplace.orders
    ]
    marketplace = fixture.marketplace.model_copy(update={"orders": orders})
    return fixture.model_copy(update={"marketplace": marketplace})


async def watermark(world: World, tenant_id: int) -> dt.datetime | None:
    async with world.services.db.session() as session:
        tenant = await tenants.get_tenant(session, tenant_id)
        assert tenant is not None
        return tenant.orders_checked_through


async def total_tasks(world: World, user: UserSession) -> int:
    page = await task_service.list_tasks(world.services, user.actor, task_service.task_filter())
    return page.total


async def test_a_processing_order_holds_the_watermark_until_it_completes(world: World) -> None:
    user = await auth.login(world.services, marketplace="us", **NORTHWIND)
    first = await check_changes.check_changes(world.services, user.actor)
    assert (len(first.created), first.pending) == (12, 1)
    assert await watermark(world, user.tenant_id) == ASPEN_CREATED

    # Aspen's order completes: the marketplace now answers from a changed sandbox.
    completed = build_sandbox(with_aspen_completed(load_fixture(DEMO_FIXTURE)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=completed.app), base_url=SANDBOX
    ) as http:
        world.services.http = http
        user = await auth.login(world.services, marketplace="us", **NORTHWIND)
        second = await check_changes.check_changes(world.services, user.actor)
    assert [task.order_number for task in second.created] == ["SO0000394"]
    assert second.created[0].title == "Aspen Creative Studio 1000048539 — Sales Order"
    assert second.pending == 0
    assert await watermark(world, user.tenant_id) == NOW
    assert await total_tasks(world, user) == 13


async def test_a_marketplace_failing_mid_way_leaves_no_tasks_and_the_watermark(
    world: World,
) -> None:
    user = await auth.login(world.services, marketplace="us", **NORTHWIND)
    # The orders page answers; reading the new customers' names then fails for good.
    world.sandbox.faults.configure(
        FaultSettings(rate_5xx=1.0, path_prefix="/marketplace/us/customers")
    )
    with pytest.raises(UpstreamFailed):
        await check_changes.check_changes(world.services, user.actor)
    assert await total_tasks(world, user) == 0
    assert await watermark(world, user.tenant_id) is None

    world.sandbox.faults.configure(FaultSettings())
    result = await check_changes.check_changes(world.services, user.actor)
    assert len(result.created) == 12


async def test_the_first_check_reaches_back_the_configured_lookback(world: World) -> None:
    user = await auth.login(world.services, marketplace="us", **NORTHWIND)
    result = await check_changes.check_changes(world.services, user.actor)
    assert result.checked_from == NOW - dt.timedelta(days=31)
    later = await check_changes.check_changes(world.services, user.actor)
    assert later.checked_from == ASPEN_CREATED - world.services.check_overlap
    assert (len(later.created), later.already_known, later.pending) == (0, 0, 1)
