"""Verification after a sync on Autotask (DESIGN §6, §11): a recurring create is an adjustment
that Autotask keeps no key for, so "one addition per key" cannot be how it is checked; the units
at its effective date against the journal (before + Δ) can.

A keyless create is decided as an unknown outcome is: by ``PsaPort.outcome`` with the
expectation the journal kept before the write (the units read).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from psasync.adapters.autotask import AutotaskClient, AutotaskPsa
from psasync.adapters.http import RetryPolicy
from psasync.domain.agreements import BillCustomer, ProductRef
from psasync.domain.plan import Action, AdditionKind, PlannedAddition, PriceSource
from psasync.sandbox.server import Sandbox
from psasync.services.verification import verify_run
from psasync.store import ActionOutcome, SyncAction
from tests.integration.autotask.conftest import BASE
from tests.integration.autotask.test_charge_lines import CREDENTIALS

pytestmark = pytest.mark.anyio

CONTRACT, BACKUP = 1001, 503  # Green Lane's contract has no Cloud Backup service yet


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


def sale() -> PlannedAddition:
    return PlannedAddition(
        action=Action.CREATE,
        kind=AdditionKind.RECURRING,
        key="task:5:line1:recurring",
        line=1,
        product=ProductRef(BACKUP, "BKP-CLOUD-500"),
        mpn="BKP-CLOUD-500",
        description="Cloud Backup 500 GB",
        quantity=Decimal(4),
        unit_price=Decimal("15.00"),
        unit_cost=Decimal("9.00"),
        effective_date=dt.date(2026, 11, 21),
        cancelled_date=None,
        bill_customer=BillCustomer.BILLABLE,
        taxable=False,
        price_source=PriceSource.MARKETPLACE,
    )


async def _noop() -> None:
    return None


async def test_a_sales_order_synced_once_verifies_clean(psa: AutotaskPsa) -> None:
    action = sale()
    expected = await psa.expect(CONTRACT, action)
    line_id = await psa.apply(CONTRACT, action)
    step = SyncAction(
        key=action.key,
        action=action.action.value,
        kind=action.kind.value,
        mpn=action.mpn,
        addition_id=line_id,
        outcome=ActionOutcome.APPLIED.value,
        expectation_json=json.dumps(expected, sort_keys=True),
    )
    findings = await verify_run(
        psa, agreement_id=CONTRACT, steps=[(step, action)], before_delete=_noop
    )
    assert findings == []


async def test_a_doubled_adjustment_is_reported_not_passed(psa: AutotaskPsa) -> None:
    """The same adjustment applied twice (a late apply and a re-send) leaves the units at
    before + 2Δ: verification says so rather than passing it."""
    action = sale()
    expected = await psa.expect(CONTRACT, action)
    line_id = await psa.apply(CONTRACT, action)
    await psa.apply(CONTRACT, action)
    step = SyncAction(
        key=action.key,
        action=action.action.value,
        kind=action.kind.value,
        mpn=action.mpn,
        addition_id=line_id,
        outcome=ActionOutcome.APPLIED.value,
        expectation_json=json.dumps(expected, sort_keys=True),
    )
    findings = await verify_run(
        psa, agreement_id=CONTRACT, steps=[(step, action)], before_delete=_noop
    )
    assert [finding.kind.value for finding in findings] == ["differs"], findings
    assert "neither" in findings[0].message
