"""The client against the one sandbox server (DESIGN.md §4), marketplace mounted at
``/marketplace/us``, seeded from the demo fixture file."""

from __future__ import annotations

import httpx
import pytest

from psasync.adapters.http import RetryPolicy
from psasync.adapters.marketplace import MarketplaceClient, NotFound
from tests.integration.marketplace.conftest import Sleeps
from tests.integration.marketplace.spec import SpecChecker

pytestmark = pytest.mark.anyio

DEMO_LOGIN = {"username": "demo@northwind-it.example", "password": "northwind-demo"}


async def test_the_demo_marketplace_is_served_under_its_code(
    spec: SpecChecker, sleeps: Sleeps
) -> None:
    # Imported here: the sandbox server module needs both emulator packages.
    from psasync.sandbox.fixture import DEMO_FIXTURE, load_fixture
    from psasync.sandbox.server import build_sandbox

    if not DEMO_FIXTURE.exists():
        pytest.skip(f"no demo fixture at {DEMO_FIXTURE}")
    fixture = load_fixture(DEMO_FIXTURE)
    sandbox = build_sandbox(fixture)
    (marketplace,) = fixture.marketplace.marketplaces
    base = f"http://sandbox.test/marketplace/{marketplace.code}"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app),
        event_hooks={"response": [spec.hook(prefix=f"/marketplace/{marketplace.code}")]},
    ) as http:
        client = MarketplaceClient(
            http,
            base_url=base,
            code=marketplace.code,
            subscription_key=marketplace.subscription_key,
            retry=RetryPolicy(attempts=2, sleep=sleeps),
            page_size=5,
        )
        session = await client.login(**DEMO_LOGIN)
        orders = await session.list_orders()
        with pytest.raises(NotFound):  # the second reseller's subscription
            await session.get_subscription("7000901")
    assert session.reseller.name == "Northwind IT"
    assert orders.items and all(o.customer_id.startswith("10000485") for o in orders.items)
    assert sandbox.calls.total(prefix=f"/marketplace/{marketplace.code}/orders") >= 3
