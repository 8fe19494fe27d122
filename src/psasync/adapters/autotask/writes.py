"""How a planned action is written to Autotask.

Recurring lines (contract services) move only by service adjustments:

- create → an adjustment of +quantity effective on the action's effective date (Autotask
  creates the contract service when the contract has none for the Service);
- update → an adjustment of (quantity − units on the effective date) from that date;
- cancel → an adjustment down to 0 effective the day after the cancelled date;
- delete (a line that never billed) → the adjustments dated after its effective date reversed
  (latest first), then an adjustment down to 0 from its effective date: no units from then on.

An update, cancel or delete aims at a number of units, so repeating it adjusts by 0: nothing is
sent. A create adds to what is there, so it is decided by the units before it (DESIGN §11,
:mod:`.adjustments`): when its answer is lost the units at the effective date are read at once;
applied, it is done; not applied, :class:`AdjustmentOutcomeUnknown` carries the expectation
for the caller to decide by later; anything else is an :class:`AdjustmentConflict`.

One-time lines (setup fees, usage; any non-recurring kind) are contract charges keyed in their
description: created once (a lost answer is looked for by key, never re-POSTed here), updated
and rewritten with PATCH, deleted with DELETE (already gone is done).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psasync.adapters.autotask.adjustments import (
    AdjustmentExpectation,
    AdjustmentOutcome,
    AdjustmentOutcomeUnknown,
    decide,
)
from psasync.adapters.autotask.client import AutotaskClient
from psasync.adapters.autotask.errors import AutotaskError, AutotaskNotFound
from psasync.adapters.autotask.keys import mark_description
from psasync.adapters.autotask.mapping import vendor_date
from psasync.adapters.http import AdapterError, OutcomeUnknown
from psasync.domain.agreements import Addition
from psasync.domain.plan import Action, AdditionKind, PlannedAddition

log = logging.getLogger(__name__)
ONE_DAY = dt.timedelta(days=1)
CHARGE_NAME_LENGTH = 100
FindByKey = Callable[[int, str], Awaitable[Addition | None]]


@dataclass(frozen=True)
class _Target:
    """The adjustment an action asks for: ``change`` units, or up to ``units``, from ``day``."""

    service_id: int
    day: dt.date
    change: Decimal | None = None
    units: Decimal | None = None


class Writer:
    """Writes planned actions through an :class:`AutotaskClient`."""

    def __init__(self, client: AutotaskClient, *, find_line_by_key: FindByKey) -> None:
        self.client = client
        self.find_line_by_key = find_line_by_key

    async def apply(self, agreement_id: int, action: PlannedAddition) -> int:
        if action.kind is AdditionKind.RECURRING:
            return await self._recurring(agreement_id, action)
        return await self._one_time(agreement_id, action)

    async def expectation(
        self, agreement_id: int, action: PlannedAddition
    ) -> AdjustmentExpectation | None:
        if action.kind is not AdditionKind.RECURRING:
            return None
        service_id = await self._service_of(agreement_id, action)
        if service_id is None:
            return None
        found = await self._expect(agreement_id, _target(action, service_id))
        return found if found.change else None

    # Recurring lines --------------------------------------------------------------------------

    async def _recurring(self, agreement_id: int, action: PlannedAddition) -> int:
        existing = None
        if action.action is Action.CREATE:
            existing = await self.client.contract_service_for(agreement_id, action.product.id)
        service_id = await self._service_of(agreement_id, action)
        if service_id is None:  # deleting a line that is already gone
            return _target_id(action)
        if action.action is Action.DELETE:
            await self._undo_later_changes(agreement_id, service_id, action.effective_date)
        expectation = await self._expect(agreement_id, _target(action, service_id))
        if expectation.change:
            writes_price = action.action in (Action.CREATE, Action.UPDATE)
            await self._adjust(expectation, action if writes_price else None)
        if action.action is not Action.CREATE:
            line_id = _target_id(action)
            if action.action is Action.UPDATE and action.description:
                await self._describe(agreement_id, line_id, action.description)
            return line_id
        line = await self.client.contract_service_for(agreement_id, action.product.id)
        if line is None:
            raise AutotaskError(
                f"Autotask shows no contract service for Service {action.product.id} on "
                f"contract {agreement_id} after adjusting it",
                status=None,
            )
        if existing is None and action.description:
            await self.client.set_invoice_description(
                agreement_id, int(line["id"]), action.description
            )
        return int(line["id"])

    async def _service_of(self, agreement_id: int, action: PlannedAddition) -> int | None:
        if action.action is Action.CREATE:
            return action.product.id
        try:
            line = await self.client.contract_service(agreement_id, _target_id(action))
        except AutotaskNotFound:
            if action.action is Action.DELETE:
                return None
            raise
        return int(line["serviceID"])

    async def _undo_later_changes(self, agreement_id: int, service_id: int, day: dt.date) -> None:
        """Reverse the adjustments dated after ``day``, latest first (units never go below 0),
        so that one adjustment at ``day`` leaves the line with no units from then on."""
        later = await self.client.changes_after(agreement_id, service_id, day)
        for start, change in reversed(later):
            target = _Target(service_id, start, change=-change)
            await self._adjust(await self._expect(agreement_id, target), None)

    async def _expect(self, agreement_id: int, target: _Target) -> AdjustmentExpectation:
        before = await self.client.units_at(agreement_id, target.service_id, target.day)
        change = target.change if target.change is not None else (target.units or 0) - before
        return AdjustmentExpectation(
            agreement_id=agreement_id,
            service_id=target.service_id,
            effective_date=target.day,
            before=before,
            change=Decimal(change),
        )

    async def _adjust(
        self, expectation: AdjustmentExpectation, priced: PlannedAddition | None
    ) -> None:
        try:
            await self.client.post_adjustment(
                expectation.agreement_id,
                service_id=expectation.service_id,
                effective=expectation.effective_date,
                change=expectation.change,
                price=priced.unit_price if priced else None,
                cost=priced.unit_cost if priced else None,
            )
        except OutcomeUnknown as unknown:
            await self._resolve(expectation, unknown)

    async def _resolve(self, expectation: AdjustmentExpectation, unknown: OutcomeUnknown) -> None:
        """Decide a lost adjustment by the units at its effective date, read once now."""
        try:
            units = await self.client.units_at(
                expectation.agreement_id, expectation.service_id, expectation.effective_date
            )
        except AdapterError as error:
            raise AdjustmentOutcomeUnknown(
                f"{unknown.message}; the units could not be read back ({error.message})",
                expectation=expectation,
            ) from unknown
        if decide(expectation, units) is AdjustmentOutcome.APPLIED:
            log.info("adjustment %s was applied despite %s", expectation, unknown.message)
            return
        raise AdjustmentOutcomeUnknown(
            f"{unknown.message}; the units on {expectation.effective_date} are still "
            f"{expectation.before} (expected {expectation.after} once applied)",
            expectation=expectation,
        ) from unknown

    async def _describe(self, agreement_id: int, line_id: int, text: str) -> None:
        line = await self.client.contract_service(agreement_id, line_id)
        if (line.get("invoiceDescription") or "") != text:
            await self.client.set_invoice_description(agreement_id, line_id, text)

    # One-time lines (contract charges) --------------------------------------------------------

    async def _one_time(self, agreement_id: int, action: PlannedAddition) -> int:
        if action.action is Action.CREATE:
            return await self._create_charge(agreement_id, action)
        line_id = _target_id(action)
        if action.action is Action.DELETE:
            await self.client.delete_charge(agreement_id, line_id)
        elif action.action is Action.CANCEL:
            raise AutotaskError(
                f"{action.key}: an Autotask contract charge bills once and cannot be "
                "cancelled; delete it instead",
                status=None,
            )
        else:
            body = {"id": line_id, **_charge_values(action)}
            await self.client.update_charge(agreement_id, body)
        return line_id

    async def _create_charge(self, agreement_id: int, action: PlannedAddition) -> int:
        body = {"contractID": agreement_id, **_charge_values(action), **_charge_identity(action)}
        try:
            return await self.client.create_charge(agreement_id, body)
        except OutcomeUnknown as unknown:
            found = await self.find_line_by_key(agreement_id, action.key)
            if found is None:
                raise
            log.info("charge %s was created despite %s", action.key, unknown.message)
            return found.id

    async def rewrite(self, agreement_id: int, line_id: int, action: PlannedAddition) -> int:
        if action.kind is AdditionKind.RECURRING:
            raise AutotaskError(
                f"{action.key}: Autotask contract services carry no key, so no line is "
                "rewritten to a recurring create",
                status=None,
            )
        body = {"id": line_id, **_charge_values(action), **_charge_identity(action)}
        await self.client.update_charge(agreement_id, body)
        return line_id


def _target(action: PlannedAddition, service_id: int) -> _Target:
    if action.action is Action.CREATE:
        return _Target(service_id, action.effective_date, change=action.quantity)
    if action.action is Action.CANCEL:
        if action.cancelled_date is None:
            raise ValueError(f"{action.key} cancels without a date")
        return _Target(service_id, action.cancelled_date + ONE_DAY, units=Decimal(0))
    if action.action is Action.DELETE:
        return _Target(service_id, action.effective_date, units=Decimal(0))
    return _Target(service_id, action.effective_date, units=action.quantity)


def _target_id(action: PlannedAddition) -> int:
    if action.addition_id is None:  # the planner always targets updates, cancels, deletes
        raise ValueError(f"{action.key} has no line to {action.action.value}")
    return action.addition_id


def _charge_values(action: PlannedAddition) -> dict[str, Any]:
    return {
        "name": (action.description or action.product.identifier)[:CHARGE_NAME_LENGTH],
        "unitQuantity": action.quantity,
        "unitPrice": action.unit_price,
        "unitCost": action.unit_cost,
        "isBillableToCompany": action.billable,
    }


def _charge_identity(action: PlannedAddition) -> dict[str, Any]:
    return {
        "description": mark_description(
            action.description,
            action.key,
            service_id=action.product.id,
            # A charge keeps one date; the mark keeps the period's last day when it is another.
            until=_other_day(action.cancelled_date, action.effective_date),
        ),
        "datePurchased": vendor_date(action.effective_date),
    }


def _other_day(day: dt.date | None, than: dt.date) -> dt.date | None:
    return day if day != than else None
