"""Never bill twice on Autotask: a short ``bench/soak.py --psa autotask`` (real ``serve`` and
``sandbox`` processes, faults on every contract call, a ``kill -9`` mid-sync) ends with every
task synced, no adjustment or charge written twice and every contract service's units equal to
the fixture's plus the order's Δ from its effective date; and the soak's audit does see a
doubled adjustment, a lost one and a doubled charge (DESIGN §6, §11)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from psasync.domain.agreements import BillCustomer, ProductRef
from psasync.domain.plan import Action, AdditionKind, PlannedAddition, PriceSource

SOAK = Path(__file__).parents[2] / "bench" / "soak.py"
CONTRACT, SERVICE = 10_007, 3
DAY = dt.date(2026, 11, 11)
END = dt.date(2027, 10, 31)


def load_soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    return load_soak()


def test_a_short_soak_on_autotask_writes_nothing_twice() -> None:
    command = [sys.executable, str(SOAK), "--psa", "autotask", "--backend", "sqlite"]
    command += ["--syncs", "16", "--kills", "1", "--concurrency", "8", "--json"]
    command += ["--fault-rate", "0.3", "--seed", "11", "--time-limit", "120"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)["backends"]["sqlite"]
    assert (figures["synced"], figures["tasks"]) == (16, 16)
    assert figures["duplicates"] == figures["losses"] == figures["unitMismatches"] == 0
    assert figures["kills"] == 1
    assert figures["faultsInjected"] > 0
    # Each task's one order line moved its units by one adjustment, or billed one charge.
    assert figures["adjustmentsReceived"] + figures["chargesMarked"] == 16


def _planned(kind: AdditionKind, key: str, quantity: int) -> PlannedAddition:
    return PlannedAddition(
        action=Action.UPDATE if kind is AdditionKind.RECURRING else Action.CREATE,
        kind=kind,
        key=key,
        line=1,
        product=ProductRef(SERVICE, "GEN-EPP"),
        mpn="GEN-EPP",
        description="Endpoint Protection",
        quantity=Decimal(quantity),
        unit_price=Decimal("3.50"),
        unit_cost=Decimal("2.60"),
        effective_date=DAY,
        cancelled_date=None,
        bill_customer=BillCustomer.BILLABLE,
        taxable=False,
        price_source=PriceSource.MARKETPLACE,
        addition_id=100_007 if kind is AdditionKind.RECURRING else None,
    )


def _rows(*spans: tuple[dt.date, dt.date, int]) -> list[dict[str, Any]]:
    return [
        {
            "contractID": CONTRACT,
            "serviceID": SERVICE,
            "startDate": f"{start}T00:00:00Z",
            "endDate": f"{end}T00:00:00Z",
            "units": units,
        }
        for start, end, units in spans
    ]


def _adjustment(change: int) -> dict[str, Any]:
    return {
        "contractID": CONTRACT,
        "serviceID": SERVICE,
        "effectiveDate": DAY.isoformat(),
        "unitChange": change,
    }


def _audit(soak: ModuleType, rows: list[dict[str, Any]], adjusted: list[dict[str, Any]]) -> Any:
    ordered = soak.Ordered(CONTRACT, "change", SERVICE, Decimal(10), Decimal(12))
    action = _planned(AdditionKind.RECURRING, "task:1:line1:recurring", 12)
    journalled = soak.Journalled(
        (action,),
        {action.key: {"before": "10", "change": "2", "effectiveDate": DAY.isoformat()}},
    )
    found = soak.AutotaskFindings()
    soak.audit_recurring(1, ordered, action, journalled, rows, adjusted, END, found)
    return found


BEFORE = (dt.date(2026, 11, 1), DAY - dt.timedelta(days=1), 10)


def test_the_audit_passes_units_moved_once(soak: ModuleType) -> None:
    found = _audit(soak, _rows(BEFORE, (DAY, END, 12)), [_adjustment(2)])
    assert (found.duplicates, found.mismatches, found.losses) == ([], [], [])


def test_the_audit_sees_an_adjustment_applied_twice(soak: ModuleType) -> None:
    found = _audit(soak, _rows(BEFORE, (DAY, END, 14)), [_adjustment(2), _adjustment(2)])
    assert len(found.duplicates) == 1
    assert any("14 units on the effective date" in m for m in found.mismatches)


def test_the_audit_sees_an_adjustment_lost(soak: ModuleType) -> None:
    found = _audit(soak, _rows(BEFORE, (DAY, END, 10)), [])
    assert len(found.losses) == 1 and len(found.mismatches) == 2


def test_the_audit_sees_a_charge_key_twice(soak: ModuleType) -> None:
    key = "task:2:line1:one_time"
    charge = {
        "contractID": CONTRACT,
        "description": f"Cloud Storage per GB [psasync {key} service:8]",
        "unitQuantity": "12.5",
    }
    usage = soak.Ordered(CONTRACT, "billing", 8, usage=Decimal("12.5"))
    planned = [_planned(AdditionKind.ONE_TIME, key, 12)]
    once = soak.AutotaskFindings()
    soak.audit_charges(2, usage, planned, [charge], once)
    assert (once.duplicates, once.losses, once.mismatches) == ([], [], [])
    twice = soak.AutotaskFindings()
    soak.audit_charges(2, usage, planned, [charge, dict(charge)], twice)
    assert len(twice.duplicates) == 1
