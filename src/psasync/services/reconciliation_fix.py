"""Fixing reconciliation items (DESIGN §9, §6): re-checked, journalled, fenced, verified.

A fix job takes items of the latest report. For each item it

1. claims the item (a token with a lease, one conditional UPDATE; every journal write of the
   fix is conditional on the token, and the claim is confirmed before each vendor write);
2. resumes the item's journalled plan if an earlier fix of it was cut short; otherwise reads
   the customer's current state again and recomputes the item for the report's D: an item that
   no longer drifts is marked *already fixed*, one without a fix (e.g. its agreement is
   invoiced through D) fails with the reason, else its fix's actions are journalled, all
   pending, before the first write;
3. applies the actions one at a time through the PSA port, recording each before the next; a
   write whose answer never came is looked for over the quiet period
   (``services.unknown_outcome_quiet``) before it is sent again — by what the PSA showed just
   before it, journalled with the attempt (``PsaPort.expect``/``outcome``: a create's key on
   ConnectWise, the units before an adjustment on Autotask) — and a resumed plan first marks
   what the PSA already shows;
4. reads the agreement back and verifies it (a surplus copy of its own making is deleted),
   then marks the item fixed.

Fix keys are ``recon:{item}:line{n}:{kind}``: the same drift on the same D proposes the same
keys, so nothing is ever created twice, and re-running the report finds no drift for it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from psasync.adapters.http import AdapterError, OutcomeUnknown
from psasync.domain.keys import Located, locate_actions
from psasync.domain.plan import Action, PlannedAddition, PriceSource
from psasync.domain.reconciliation import (
    CustomerSnapshot,
    FixTiming,
    ReconciliationOptions,
    reconcile_customer,
)
from psasync.services import jobs as job_service
from psasync.services.actor import Actor
from psasync.services.claims import ClaimLost
from psasync.services.context import Services
from psasync.services.errors import Conflict, Invalid, NotFound
from psasync.services.integrations import note_psa_error, psa_for
from psasync.services.jobs import JobView, Progress, runs
from psasync.services.ports import PsaPort
from psasync.services.reconciliation import (
    job_actor,
    psa_style,
    read_snapshots,
    require_unattended,
)
from psasync.services.verification import verify_run
from psasync.store import (
    ActionOutcome,
    FixOutcome,
    JobKind,
    ReconciliationFixAction,
    ReconciliationItemRow,
    SyncAction,
    snapshots,
)
from psasync.store import reconciliation as report_store

log = logging.getLogger(__name__)

DONE = frozenset({ActionOutcome.APPLIED.value, ActionOutcome.FOUND_APPLIED.value})
WRITE_ATTEMPTS = 3
QUIET_POLL_SECONDS = 10.0
MAX_ITEMS = 2_000


class FixResult(StrEnum):
    FIXED = "fixed"
    ALREADY_FIXED = "alreadyFixed"
    FAILED = "failed"


@dataclass(frozen=True)
class FixRequest:
    """Items of the latest report to fix, priced how, effective when."""

    item_ids: tuple[str, ...]
    price_source: PriceSource = PriceSource.MARKETPLACE
    timing: FixTiming = FixTiming.NEXT_PERIOD


@dataclass(frozen=True)
class ItemFix:
    item_id: str
    kind: str
    customer_id: str
    result: FixResult
    message: str | None = None
    effective_date: dt.date | None = None
    actions: int = 0


@dataclass(frozen=True)
class FixRun:
    report_id: int
    items: tuple[ItemFix, ...]

    def count(self, result: FixResult) -> int:
        return sum(item.result is result for item in self.items)


# --- submitting ----------------------------------------------------------------------------------


def lock_of(tenant_id: int) -> str:
    return f"reconcile-fix:{tenant_id}"


async def start_fix(services: Services, actor: Actor, request: FixRequest) -> JobView:
    """Queue a fix of items of the latest report; unknown item ids are refused (404)."""
    wanted = tuple(dict.fromkeys(request.item_ids))
    if not wanted:
        raise Invalid("Name at least one item to fix.", code="NothingToFix")
    if len(wanted) > MAX_ITEMS:
        raise Invalid(f"Fix at most {MAX_ITEMS} items at once.", code="TooManyItems")
    await require_unattended(services, actor, "A fix")
    async with services.db.session() as session:
        report = await report_store.latest_report(session, actor.tenant_id)
        if report is None:
            raise NotFound("There is no reconciliation report yet: run one first.", code="NoReport")
        rows = await report_store.report_items(session, report.id, item_ids=wanted)
        report_id = report.id
    unknown = sorted(set(wanted) - {row.item_id for row in rows})
    if unknown:
        raise NotFound(
            f"The latest report has no item {', '.join(unknown)}.",
            code="ItemNotFound",
            details={"items": unknown},
        )
    params = {
        "reportId": report_id,
        "items": list(wanted),
        "priceSource": request.price_source.value,
        "effective": request.timing.value,
    }
    return await job_service.submit(
        services, actor, JobKind.RECONCILE_FIX, params, lock=lock_of(actor.tenant_id)
    )


@runs(JobKind.RECONCILE_FIX)
async def run_fix_job(services: Services, job: JobView, progress: Progress) -> dict[str, Any]:
    actor = await job_actor(services, job)
    run = await fix_items(
        services,
        actor,
        report_id=int(job.params["reportId"]),
        request=FixRequest(
            item_ids=tuple(job.params.get("items") or ()),
            price_source=PriceSource(job.params.get("priceSource", "marketplace")),
            timing=FixTiming(job.params.get("effective", FixTiming.NEXT_PERIOD.value)),
        ),
        progress=progress,
    )
    return result_json(run)


def result_json(run: FixRun) -> dict[str, Any]:
    return {
        "reportId": run.report_id,
        "total": len(run.items),
        "fixed": run.count(FixResult.FIXED),
        "alreadyFixed": run.count(FixResult.ALREADY_FIXED),
        "failed": run.count(FixResult.FAILED),
        "items": [
            {
                "itemId": item.item_id,
                "kind": item.kind,
                "customerId": item.customer_id,
                "result": item.result.value,
                "message": item.message,
                "effectiveDate": item.effective_date.isoformat() if item.effective_date else None,
                "actions": item.actions,
            }
            for item in run.items
        ],
    }


# --- running -------------------------------------------------------------------------------------


async def fix_items(
    services: Services,
    actor: Actor,
    *,
    report_id: int,
    request: FixRequest,
    progress: Progress | None = None,
) -> FixRun:
    """Fix the named items of report ``report_id`` one by one (see the module docstring)."""
    async with services.db.session() as session:
        report = await report_store.get_report(session, actor.tenant_id, report_id)
        if report is None:
            raise NotFound(f"There is no reconciliation report {report_id}.", code="NoReport")
        rows = await report_store.report_items(session, report_id, item_ids=request.item_ids)
        as_of = dt.date.fromisoformat(report.as_of)
    psa = await psa_for(services, actor.tenant_id)
    options = replace(_options(services, as_of, request), psa=await psa_style(services, actor))
    current: dict[str, CustomerSnapshot] = {}
    done: list[ItemFix] = []
    for row in rows:
        try:
            done.append(await _fix_item(services, actor, psa, row, options, current))
        except ClaimLost as lost:
            done.append(_failed(row, lost.message))
        except Conflict as busy:
            done.append(_failed(row, busy.message))
        if progress is not None:
            await progress(len(done), len(rows))
    return FixRun(report_id=report_id, items=tuple(done))


def _options(services: Services, as_of: dt.date, request: FixRequest) -> ReconciliationOptions:
    today = services.now().date()
    if request.timing is FixTiming.CURRENT_PERIOD and today < as_of:
        return ReconciliationOptions(
            as_of=as_of,
            price_source=request.price_source,
            timing=FixTiming.CURRENT_PERIOD,
            change_date=today,
        )
    return ReconciliationOptions(as_of=as_of, price_source=request.price_source)


def _failed(row: ReconciliationItemRow, message: str) -> ItemFix:
    return ItemFix(
        item_id=row.item_id,
        kind=row.kind,
        customer_id=row.customer_id,
        result=FixResult.FAILED,
        message=message,
    )


async def _fix_item(
    services: Services,
    actor: Actor,
    psa: PsaPort,
    row: ReconciliationItemRow,
    options: ReconciliationOptions,
    current: dict[str, CustomerSnapshot],
) -> ItemFix:
    async with ItemClaim(services, row.id) as claim:
        async with services.db.session() as session:
            fresh = await report_store.get_item(session, row.id)
            steps = await report_store.fix_actions(session, row.id)
        if fresh is None:  # the report row vanished: a broken database
            raise RuntimeError(f"reconciliation item row {row.id} is missing")
        if fresh.fix_outcome in (FixOutcome.FIXED.value, FixOutcome.ALREADY_FIXED.value):
            return ItemFix(
                item_id=row.item_id,
                kind=row.kind,
                customer_id=row.customer_id,
                result=FixResult.ALREADY_FIXED,
                message=fresh.fix_note or "Fixed earlier.",
            )
        if steps and fresh.fix_plan_json and fresh.fix_agreement_id is not None:
            planned = snapshots.actions_from_json(fresh.fix_plan_json)
            applier = _Applier(services, actor, claim, psa, fresh.fix_agreement_id, planned, steps)
            try:
                shown = await psa.lines(fresh.fix_agreement_id)
            except AdapterError as error:
                return await applier.fail(row, error)
            return await applier.run(row, found=locate_actions(planned, shown))
        snapshot = current.get(row.customer_id)
        if snapshot is None:
            read = await read_snapshots(services, actor, psa, customer_ids=[row.customer_id])
            for customer in read.customers:
                current[customer.customer_id] = customer
            snapshot = current.get(row.customer_id)
        item = None
        if snapshot is not None:
            item = next(
                (i for i in reconcile_customer(snapshot, options=options) if i.id == row.item_id),
                None,
            )
        if item is None:
            note = "No longer drifting: nothing to write."
            async with claim.fenced() as session:
                await report_store.set_fix(
                    session,
                    row.id,
                    outcome=FixOutcome.ALREADY_FIXED,
                    now=services.now(),
                    by=actor.name,
                    note=note,
                )
            return ItemFix(
                item_id=row.item_id,
                kind=row.kind,
                customer_id=row.customer_id,
                result=FixResult.ALREADY_FIXED,
                message=note,
            )
        if item.fix is None:
            reason = " ".join(item.notes) or "No fix can be proposed for this item."
            async with claim.fenced() as session:
                await report_store.set_fix(
                    session,
                    row.id,
                    outcome=FixOutcome.FAILED,
                    now=services.now(),
                    by=actor.name,
                    error=reason,
                )
            return _failed(row, reason)
        fix = item.fix
        steps = [
            ReconciliationFixAction(
                tenant_id=actor.tenant_id,
                agreement_id=fix.agreement_id,
                position=position,
                key=action.key,
                action=action.action.value,
                kind=action.kind.value,
                mpn=action.mpn,
                addition_id=action.addition_id,
                outcome=ActionOutcome.PENDING.value,
            )
            for position, action in enumerate(fix.actions, start=1)
        ]
        async with claim.fenced() as session:
            await report_store.start_fix(
                session,
                fresh,
                agreement_id=fix.agreement_id,
                plan_json=snapshots.actions_to_json(fix.actions),
                actions=steps,
                by=actor.name,
                now=services.now(),
            )
            if item.notes:
                await report_store.set_fix(
                    session,
                    row.id,
                    outcome=FixOutcome.RUNNING,
                    now=services.now(),
                    note=" ".join(item.notes),
                )
        applier = _Applier(services, actor, claim, psa, fix.agreement_id, fix.actions, steps)
        return await applier.run(row, found={}, effective=fix.effective_date)


class ItemClaim:
    """A fix's hold on one report item: a token with a lease, renewed by every fenced write."""

    def __init__(self, services: Services, row_id: int) -> None:
        self.services = services
        self.row_id = row_id
        self.token = secrets.token_hex(16)

    async def __aenter__(self) -> ItemClaim:
        now = self.services.now()
        async with self.services.db.session() as session:
            claimed = await report_store.claim_item(
                session,
                self.row_id,
                token=self.token,
                now=now,
                until=now + self.services.sync_lease,
            )
        if not claimed:
            raise Conflict(
                "Another fix of this item is running; try again when it has ended.",
                code="FixBusy",
            )
        return self

    async def __aexit__(self, *_exc: object) -> None:
        with contextlib.suppress(Exception):
            async with self.services.db.session() as session:
                await report_store.release_item(session, self.row_id, token=self.token)

    @contextlib.asynccontextmanager
    async def fenced(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits only while this fix still owns the item."""
        async with self.services.db.session() as session:
            renewed = await report_store.renew_item(
                session,
                self.row_id,
                token=self.token,
                until=self.services.now() + self.services.sync_lease,
            )
            if not renewed:
                raise ClaimLost(
                    "The fix outlived its claim and another fix took the item over; this one "
                    "stopped before writing again."
                )
            yield session

    async def confirm(self) -> None:
        async with self.fenced():
            pass


class _Applier:
    """One fix's writes to one agreement, each fenced by the item's claim and journalled."""

    def __init__(
        self,
        services: Services,
        actor: Actor,
        claim: ItemClaim,
        psa: PsaPort,
        agreement_id: int,
        planned: Sequence[PlannedAddition],
        steps: Sequence[ReconciliationFixAction],
    ) -> None:
        self.services = services
        self.actor = actor
        self.claim = claim
        self.psa = psa
        self.agreement_id = agreement_id
        self.planned = {action.key: action for action in planned}
        self.steps = list(steps)

    async def run(
        self,
        row: ReconciliationItemRow,
        *,
        found: dict[str, Located],
        effective: dt.date | None = None,
    ) -> ItemFix:
        for step in self.steps:
            if step.outcome in DONE:
                continue
            action = self.planned[step.key]
            located = found.get(step.key)
            if located is not None and located.applied:
                await self._record(step, ActionOutcome.FOUND_APPLIED, located.addition_id)
                continue
            if located is not None and action.action is Action.CREATE:
                action = replace(action, action=Action.UPDATE, addition_id=located.addition_id)
            try:
                addition_id = await self._write(step, action)
            except AdapterError as error:
                await self._record(step, ActionOutcome.FAILED, step.addition_id, error.message)
                return await self.fail(row, error)
            await self._record(step, ActionOutcome.APPLIED, addition_id)
        findings = await verify_run(
            self.psa,
            agreement_id=self.agreement_id,
            steps=[
                (
                    SyncAction(key=step.key, outcome=step.outcome, addition_id=step.addition_id),
                    self.planned[step.key],
                )
                for step in self.steps
            ],
            before_delete=self.claim.confirm,
        )
        note = " ".join(finding.message for finding in findings) or None
        async with self.claim.fenced() as session:
            await report_store.set_fix(
                session,
                row.id,
                outcome=FixOutcome.FIXED,
                now=self.services.now(),
                by=self.actor.name,
                note=note,
            )
        log.info("reconciliation item %s fixed on agreement %s", row.item_id, self.agreement_id)
        return ItemFix(
            item_id=row.item_id,
            kind=row.kind,
            customer_id=row.customer_id,
            result=FixResult.FIXED,
            message=note,
            effective_date=effective,
            actions=len(self.steps),
        )

    async def fail(self, row: ReconciliationItemRow, error: AdapterError) -> ItemFix:
        await note_psa_error(self.services, self.actor.tenant_id, error)
        done = sum(step.outcome in DONE for step in self.steps)
        message = (
            f"{error.vendor}: {error.message} — {done} of {len(self.steps)} changes were made; "
            "fix it again to finish (nothing is written twice)."
        )
        async with self.claim.fenced() as session:
            await report_store.set_fix(
                session,
                row.id,
                outcome=FixOutcome.FAILED,
                now=self.services.now(),
                by=self.actor.name,
                error=message,
            )
        return _failed(row, message)

    async def _write(self, step: ReconciliationFixAction, action: PlannedAddition) -> int:
        """Write the action; after an unknown outcome, look for it over the quiet period first.

        Every kind of write, as a sync does it (DESIGN §6, §11): whether a lost write landed is
        asked of the PSA with what it showed just before the write, journalled with the
        attempt — a create's key on ConnectWise, the units before an adjustment on Autotask,
        which cannot be read back and has no key to look for.
        """
        if step.attempted_at is not None:
            # An earlier fix of this item may have sent it and died: its answer never came.
            found = await self._await_quiet(step, action, since=step.attempted_at)
            if found is not None:
                return found
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            sent_at = await self._attempt(step, action)
            try:
                return await self.psa.apply(self.agreement_id, action)
            except OutcomeUnknown:
                found = await self._await_quiet(step, action, since=sent_at)
                if found is not None:
                    return found
                if attempt == WRITE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable: the loop returns or raises on its last attempt")

    async def _await_quiet(
        self, step: ReconciliationFixAction, action: PlannedAddition, *, since: dt.datetime
    ) -> int | None:
        """Ask the PSA whether the write landed until the quiet period after ``since`` has
        passed without it; the line's id if it did."""
        expected = json.loads(step.expectation_json) if step.expectation_json else {}
        quiet = self.services.unknown_outcome_quiet
        remaining = (since + quiet - self.services.now()).total_seconds()
        polls = max(1, math.ceil(remaining / QUIET_POLL_SECONDS)) if remaining > 0 else 1
        pause = max(remaining, 0) / polls
        for _ in range(polls):
            await self.services.retry.sleep(pause)
            found = await self.psa.outcome(self.agreement_id, action, expected)
            if found is not None:
                log.info("%s was applied late; not writing it again", action.key)
                return found
        return None

    async def _attempt(self, step: ReconciliationFixAction, action: PlannedAddition) -> dt.datetime:
        """Read what the PSA shows before the write, then confirm the claim and journal the
        attempt with it (in one fenced transaction)."""
        expected = await self.psa.expect(self.agreement_id, action)
        expectation = json.dumps(expected, sort_keys=True) if expected else None
        now = self.services.now()
        async with self.claim.fenced() as session:
            await report_store.mark_fix_attempted(
                session, step.id, now=now, expectation=expectation
            )
        step.attempted_at, step.expectation_json = now, expectation
        return now

    async def _record(
        self,
        step: ReconciliationFixAction,
        outcome: ActionOutcome,
        addition_id: int | None,
        error: str | None = None,
    ) -> None:
        async with self.claim.fenced() as session:
            await report_store.record_fix_action(
                session,
                step.id,
                outcome=outcome,
                addition_id=addition_id,
                error=error,
                now=self.services.now(),
            )
        step.outcome, step.addition_id, step.error = outcome.value, addition_id, error
