"""A one-time line written as a contract charge reads back with every value psasync wrote,
also the last day of the period it bills for, which a charge has no field for: otherwise every
synced usage or setup fee is reported as changed by verification, and a resumed run rewrites
it (DESIGN §6 "Applied means equal", §11)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from psasync.adapters.autotask import AutotaskClient, AutotaskCredentials, AutotaskPsa
from psasync.adapters.autotask.keys import mark_description, read_mark
from psasync.adapters.http import RetryPolicy
from psasync.domain.agreements import BillCustomer, ProductRef
from psasync.domain.keys import locate_actions, written_differences
from psasync.domain.plan import Action, AdditionKind, PlannedAddition, PriceSource
from psasync.sandbox.server import Sandbox
from tests.integration.autotask.conftest import BASE, HEADERS

pytestmark = pytest.mark.anyio

CONTRACT = 1001
STORAGE = 504  # Cloud Storage (per GB stored), the demo's usage Service
CREDENTIALS = AutotaskCredentials(
    username=HEADERS["UserName"],
    secret=HEADERS["Secret"],
    integration_code=HEADERS["ApiIntegrationCode"],
)


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
async def psa(sandbox: Sandbox) -> AsyncIterator[AutotaskPsa]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        client = AutotaskClient(
            http,
            CREDENTIALS,
            zone_url=f"{BASE}/atservicesrest/",
            policy=RetryPolicy(sleep=_no_sleep),
        )
        yield AutotaskPsa(client)


def usage(key: str = "task:9:line1:one_time") -> PlannedAddition:
    """November's storage usage, as the planner writes a Billing Order's line: from the usage
    period's first day to its last."""
    return PlannedAddition(
        action=Action.CREATE,
        kind=AdditionKind.ONE_TIME,
        key=key,
        line=1,
        product=ProductRef(STORAGE, "STOR-USAGE-GB"),
        mpn="STOR-USAGE-GB",
        description="Cloud Storage (usage 2026-11-01 to 2026-11-30)",
        quantity=Decimal("1821.33"),
        unit_price=Decimal("0.02"),
        unit_cost=Decimal("0.012"),
        effective_date=dt.date(2026, 11, 1),
        cancelled_date=dt.date(2026, 11, 30),
        bill_customer=BillCustomer.BILLABLE,
        taxable=False,
        price_source=PriceSource.MARKETPLACE,
    )


async def test_a_usage_charge_reads_back_with_every_value_written(psa: AutotaskPsa) -> None:
    action = usage()
    line_id = await psa.apply(CONTRACT, action)
    (line,) = [line for line in await psa.lines(CONTRACT) if line.id == line_id]
    assert line.sync_key == action.key
    assert (line.effective_date, line.cancelled_date) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 30),
    )
    assert written_differences(action, line) == ()
    # A run resuming after a crash finds it applied, and does not rewrite it.
    assert locate_actions([action], await psa.lines(CONTRACT))[action.key].applied


def test_the_mark_keeps_the_last_day_and_reads_older_marks_without_it() -> None:
    marked = mark_description(
        "Storage", "task:9:line1:one_time", service_id=504, until=dt.date(2026, 11, 30)
    )
    assert marked == "Storage [psasync task:9:line1:one_time service:504 until:2026-11-30]"
    mark = read_mark(marked)
    assert mark is not None and mark.until == dt.date(2026, 11, 30) and mark.service_id == 504
    older = read_mark("Setup [psasync task:3:line2:one_time service:503]")
    assert older is not None and older.until is None
    assert read_mark("Setup [psasync task:3:line2:one_time until:2026-02-30]") is None
