"""Sync: apply a reviewed plan to the PSA (ConnectWise), action by action, journalled, fenced.

The order of events makes a retry safe whatever happened before it (DESIGN §6):

1. the task is claimed under a token with a lease that a heartbeat renews while the run lives
   (a second Sync of it gets 409 meanwhile); every journal write is conditional on the token;
2. the plan is checked — an ineligible agreement, invalid edits or a blocked plan are refused
   with nothing written — and stored in the journal with every action pending;
3. each action is applied and its outcome recorded before the next one starts; the run
   confirms it still owns the task before each write, and notes that it is about to write;
4. a create whose answer never came is *unknown*: the agreement is searched for its key over a
   quiet period (ConnectWise may apply a request long after the client gave up) before it may
   be written again;
5. the agreement is read back and verified: one addition per key with the values written; a
   surplus copy of psasync's own making is deleted and recorded, any other difference reported;
6. the run and the task are marked synced in one transaction.

A run cut short (vendor failure, crash, lost claim) stays in the journal. The next Sync of the
task resumes *that* plan: it reads the agreement's additions, marks the actions ConnectWise
already shows with every written field equal, and applies only the rest.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.adapters.http import AdapterError, OutcomeUnknown
from psasync.domain.agreements import Addition
from psasync.domain.keys import Located, locate_actions
from psasync.domain.plan import Action, PlannedAddition, PriceSource
from psasync.domain.review import ReviewedAddition
from psasync.services.actor import Actor
from psasync.services.claims import TaskClaim
from psasync.services.context import Services
from psasync.services.errors import Conflict, Invalid, UpstreamFailed
from psasync.services.integrations import note_psa_error, psa_for
from psasync.services.planning import PreparedPlan, prepare_plan
from psasync.services.ports import PsaPort
from psasync.services.tasks import TaskView
from psasync.services.verification import verify_run
from psasync.store import (
    ActionOutcome,
    RunOutcome,
    SyncAction,
    SyncRun,
    TaskStatus,
    journal,
    snapshots,
)

log = logging.getLogger(__name__)

DONE = frozenset({ActionOutcome.APPLIED.value, ActionOutcome.FOUND_APPLIED.value})
# Steps a run has nothing (more) to do for.
SETTLED = DONE | {ActionOutcome.SKIPPED.value}
# How many times one write is sent when earlier attempts ended with an unknown outcome that
# the quiet period did not resolve.
WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class ActionResult:
    key: str
    action: Action
    kind: str
    mpn: str
    outcome: ActionOutcome
    addition_id: int | None
    error: str | None


@dataclass(frozen=True)
class RunEvent:
    """What verification found or did beyond the plan (a surplus copy deleted, a changed line)."""

    kind: str
    key: str | None
    addition_id: int | None
    message: str


@dataclass(frozen=True)
class SyncOutcome:
    """A finished Sync: the run as journalled and the task as it now stands."""

    run_id: int
    task: TaskView
    agreement_id: int
    agreement_name: str
    resumed: bool
    currency: str
    prorated_amount: Decimal
    recurring_before: Decimal
    recurring_after: Decimal
    actions: tuple[ActionResult, ...]
    events: tuple[RunEvent, ...] = ()


async def sync(
    services: Services,
    actor: Actor,
    task_id: int,
    *,
    agreement_id: int,
    price_source: PriceSource,
    reviewed: Sequence[ReviewedAddition] | None = None,
    planned: PreparedPlan | None = None,
) -> SyncOutcome:
    """Apply the task's plan to the agreement (see the module docstring).

    ``planned``: the plan the caller has just made for this very task, agreement and prices
    (auto-sync decided on it a moment ago), used instead of reading everything again; an
    interrupted run is resumed whatever it says.
    """
    async with TaskClaim(services, tenant_id=actor.tenant_id, task_id=task_id) as claim:
        run, prepared = await _run_to_apply(
            services,
            actor,
            claim,
            agreement_id=agreement_id,
            price_source=price_source,
            reviewed=reviewed,
            planned=planned,
        )
        if prepared is not None:
            applier = _Applier(services, actor, claim, prepared.context.psa, run)
            await applier.apply(found=applier.keyed_creates(prepared.additions))
        else:
            psa = await psa_for(services, actor.tenant_id)
            applier = _Applier(services, actor, claim, psa, run)
            await applier.apply(found=await applier.locate_done())
        task = await applier.verify_and_finish()
    # The run as just journalled (its steps and events are the ones written) and the task as
    # the finishing transaction read it back.
    return run_outcome(run, task, resumed=prepared is None)


async def _run_to_apply(
    services: Services,
    actor: Actor,
    claim: TaskClaim,
    *,
    agreement_id: int,
    price_source: PriceSource,
    reviewed: Sequence[ReviewedAddition] | None,
    planned: PreparedPlan | None = None,
) -> tuple[SyncRun, PreparedPlan | None]:
    """The interrupted run to resume, or a new run of a freshly checked plan.

    Returns the run and, for a new run, the plan with what was read to make it (None for a
    resumed run: its agreement must be read again).
    """
    unfinished = claim.unfinished
    if unfinished is not None:
        if unfinished.agreement_id != agreement_id:
            done = sum(action.outcome in DONE for action in unfinished.actions)
            raise Conflict(
                f"An earlier sync of this task to agreement {unfinished.agreement_name!r} "
                f"stopped after {done} of {len(unfinished.actions)} changes; finish it with "
                "that agreement first.",
                code="SyncInterrupted",
                details={"agreementId": unfinished.agreement_id, "runId": unfinished.id},
            )
        claim.run = unfinished
        return unfinished, None
    fits = (
        planned is not None
        and reviewed is None
        and planned.context.view.id == claim.task_id
        and planned.agreement.id == agreement_id
        and all(action.price_source is price_source for action in planned.plan.actions)
    )
    prepared = (
        planned
        if fits and planned is not None
        else await prepare_plan(
            services,
            actor,
            claim.task_id,
            agreement_id=agreement_id,
            price_source=price_source,
            reviewed=reviewed,
        )
    )
    _check_not_blocked(prepared)
    claim.run = await _start_run(services, actor, claim, prepared, price_source)
    return claim.run, prepared


def _check_not_blocked(prepared: PreparedPlan) -> None:
    blocking = [notice for notice in prepared.plan.notices if notice.blocking]
    if not blocking:
        return
    raise Invalid(
        "The plan cannot be synced yet: " + " ".join(notice.message for notice in blocking),
        code="PlanBlocked",
        details={
            "warnings": [
                {"code": n.code.value, "message": n.message, "line": n.line} for n in blocking
            ]
        },
    )


async def _start_run(
    services: Services,
    actor: Actor,
    claim: TaskClaim,
    prepared: PreparedPlan,
    price_source: PriceSource,
) -> SyncRun:
    plan = prepared.plan
    run = SyncRun(
        tenant_id=actor.tenant_id,
        task_id=plan.task_id,
        agreement_id=prepared.agreement.id,
        agreement_name=prepared.agreement.name,
        price_source=price_source.value,
        user=actor.name,
        started_at=services.now(),
        outcome=RunOutcome.RUNNING.value,
        currency=plan.currency.code,
        prorated_amount=plan.prorated_amount,
        recurring_before=plan.recurring_amount_before,
        recurring_after=plan.recurring_amount_after,
        plan_json=snapshots.actions_to_json(plan.actions),
    )
    actions = [
        SyncAction(
            position=position,
            key=action.key,
            action=action.action.value,
            kind=action.kind.value,
            mpn=action.mpn,
            addition_id=action.addition_id,
            # Left out at review: journalled as skipped from the start, never written.
            outcome=(ActionOutcome.SKIPPED if action.skip else ActionOutcome.PENDING).value,
        )
        for position, action in enumerate(plan.actions, start=1)
    ]
    async with claim.fenced() as session:
        return await journal.start_run(session, run, actions)


class _Applier:
    """One run's writes to one agreement, each fenced by the run's claim and journalled."""

    def __init__(
        self,
        services: Services,
        actor: Actor,
        claim: TaskClaim,
        psa: PsaPort,
        run: SyncRun,
    ) -> None:
        self.services = services
        self.actor = actor
        self.claim = claim
        self.psa = psa
        self.run = run
        self.planned = {a.key: a for a in snapshots.actions_from_json(run.plan_json)}
        self._unrecorded: list[tuple[SyncAction, ActionOutcome, int | None]] = []

    async def locate_done(self) -> dict[str, Located]:
        """Resuming: where ConnectWise already shows this run's actions (matched by values)."""
        additions = await self._vendor(self.psa.lines(self.run.agreement_id))
        return locate_actions(self.planned.values(), additions)

    def keyed_creates(self, additions: Sequence[Addition]) -> dict[str, Located]:
        """A fresh run: creates whose key the agreement already carries (an earlier run of
        the task wrote them). Found by key only — values are matched only when resuming."""
        creates = [a for a in self.planned.values() if a.action is Action.CREATE]
        return locate_actions(creates, additions)

    async def apply(self, *, found: dict[str, Located]) -> None:
        for step in self.run.actions:
            if step.outcome in SETTLED:
                continue
            action = self.planned[step.key]
            located = found.get(step.key)
            if located is not None and located.applied:
                await self._record(step, ActionOutcome.FOUND_APPLIED, located.addition_id)
                continue
            if located is not None and action.action is Action.CREATE:
                # Written by an earlier attempt, then changed: set its fields, never re-create.
                addition_id = await self._rewrite_step(step, action, located.addition_id)
            else:
                addition_id = await self._write_step(step, action)
            await self._record(step, ActionOutcome.APPLIED, addition_id)

    async def verify_and_finish(self) -> TaskView:
        """Verify the agreement, journal the findings and close the run; the task as it now
        stands (as the release left it)."""
        findings = await verify_run(
            self.psa,
            agreement_id=self.run.agreement_id,
            steps=[(step, self.planned[step.key]) for step in self.run.actions],
            before_delete=self.claim.confirm,
        )
        async with self.claim.finishing() as session:
            await self._flush(session)
            events = [
                await journal.add_event(
                    session,
                    self.run.id,
                    kind=finding.kind,
                    key=finding.key,
                    addition_id=finding.addition_id,
                    message=finding.message,
                    now=self.services.now(),
                )
                for finding in findings
            ]
            released = await self._finish_in(session, succeeded=True, error=None)
        task = TaskView.of(released)
        self.run.events.extend(events)
        log.info(
            "task %s synced to agreement %s (run %s)",
            self.run.task_id,
            self.run.agreement_id,
            self.run.id,
        )
        return task

    async def _write_step(self, step: SyncAction, action: PlannedAddition) -> int:
        try:
            return await self._write_once(step, action)
        except AdapterError as error:
            await self._fail(step, error)
            raise _vendor_failure(error, self.run) from None

    async def _rewrite_step(self, step: SyncAction, action: PlannedAddition, line_id: int) -> int:
        try:
            await self._attempt(step, action)
            return await self.psa.rewrite(self.run.agreement_id, line_id, action)
        except AdapterError as error:
            await self._fail(step, error)
            raise _vendor_failure(error, self.run) from None

    async def _write_once(self, step: SyncAction, action: PlannedAddition) -> int:
        """Write the action; after an unknown outcome, look for it over the quiet period first.

        Whether a lost write landed is asked of the PSA with what it showed just before the
        write (journalled with the attempt): a create's key on ConnectWise, the units before an
        adjustment on Autotask, which cannot be read back.
        """
        if step.attempted_at is not None and step.outcome != ActionOutcome.FAILED.value:
            # An earlier owner of this run may have sent it and died: its answer never came.
            # (A refusal wrote nothing: after one there is nothing to look for.)
            found = await self._await_quiet(step, action, since=step.attempted_at)
            if found is not None:
                return found
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            sent_at = await self._attempt(step, action)
            try:
                return await self.psa.apply(self.run.agreement_id, action)
            except OutcomeUnknown:
                found = await self._await_quiet(step, action, since=sent_at)
                if found is not None:
                    return found
                if attempt == WRITE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable: the loop returns or raises on its last attempt")

    async def _await_quiet(
        self, step: SyncAction, action: PlannedAddition, *, since: dt.datetime
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
            found = await self.psa.outcome(self.run.agreement_id, action, expected)
            if found is not None:
                log.info("%s was applied late; not writing it again", action.key)
                return found
        return None

    async def _attempt(self, step: SyncAction, action: PlannedAddition) -> dt.datetime:
        """Read what the PSA shows before the write, then confirm the claim and journal the
        attempt with it (in one fenced transaction)."""
        expected = await self.psa.expect(self.run.agreement_id, action)
        expectation = json.dumps(expected, sort_keys=True) if expected else None
        now = self.services.now()
        async with self.claim.fenced() as session:
            await self._flush(session)
            await journal.mark_attempted(session, step.id, now=now, expectation=expectation)
        step.attempted_at, step.expectation_json = now, expectation
        return now

    async def _record(
        self, step: SyncAction, outcome: ActionOutcome, addition_id: int | None
    ) -> None:
        """Note an action's outcome; it is written with the run's next journal write (the next
        attempt, a failure or the finish), which comes before anything else is sent."""
        self._unrecorded.append((step, outcome, addition_id))
        step.outcome, step.addition_id, step.error = outcome.value, addition_id, None

    async def _flush(self, session: AsyncSession) -> None:
        for step, outcome, addition_id in self._unrecorded:
            await journal.record_action(
                session,
                step.id,
                outcome=outcome,
                addition_id=addition_id,
                error=None,
                now=self.services.now(),
            )
        self._unrecorded.clear()

    async def _fail(self, step: SyncAction, error: AdapterError) -> None:
        await note_psa_error(self.services, self.actor.tenant_id, error)
        message = f"{step.key}: {error.message}"
        # A write whose answer never came may still land: the run must be resumed (and the
        # write looked for) rather than planned afresh. A refusal definitely wrote nothing.
        outcome = (
            ActionOutcome.UNKNOWN if isinstance(error, OutcomeUnknown) else ActionOutcome.FAILED
        )
        async with self.claim.finishing() as session:
            await self._flush(session)
            await journal.record_action(
                session,
                step.id,
                outcome=outcome,
                addition_id=step.addition_id,
                error=error.message,
                now=self.services.now(),
            )
            await self._finish_in(session, succeeded=False, error=message)
        step.outcome, step.error = outcome.value, error.message

    async def _vendor(self, call: Awaitable[list[Addition]]) -> list[Addition]:
        try:
            return await call
        except AdapterError as error:
            await note_psa_error(self.services, self.actor.tenant_id, error)
            async with self.claim.finishing() as session:
                await self._flush(session)
                await self._finish_in(session, succeeded=False, error=error.message)
            raise _vendor_failure(error, self.run) from None

    async def _finish_in(
        self, session: AsyncSession, *, succeeded: bool, error: str | None
    ) -> Row[Any]:
        """Close the run in the journal and release the task, in the caller's transaction (a
        :meth:`TaskClaim.finishing` one: the release fences every write before it); the task's
        row as released."""
        await journal.finish_run(
            session,
            self.run.id,
            outcome=RunOutcome.SUCCEEDED if succeeded else RunOutcome.FAILED,
            error=error,
            now=self.services.now(),
        )
        self.run.outcome = (RunOutcome.SUCCEEDED if succeeded else RunOutcome.FAILED).value
        return await self.claim.release_in(
            session,
            status=TaskStatus.SYNCED if succeeded else TaskStatus.FAILED,
            error=error,
            agreement_id=self.run.agreement_id if succeeded else None,
        )


# A quiet period is watched in polls of about this many seconds.
QUIET_POLL_SECONDS = 10.0


def _vendor_failure(error: AdapterError, run: SyncRun) -> UpstreamFailed:
    done = sum(step.outcome in DONE for step in run.actions)
    return UpstreamFailed(
        f"{error.vendor}: {error.message} — {done} of {len(run.actions)} changes were made; "
        "Sync again to finish (nothing is written twice).",
        code="SyncFailed",
        details={
            "vendor": error.vendor,
            "status": error.status,
            "runId": run.id,
            "applied": done,
            "total": len(run.actions),
        },
    )


def run_outcome(run: SyncRun, task: TaskView, *, resumed: bool = False) -> SyncOutcome:
    return SyncOutcome(
        run_id=run.id,
        task=task,
        agreement_id=run.agreement_id,
        agreement_name=run.agreement_name,
        resumed=resumed,
        currency=run.currency,
        prorated_amount=run.prorated_amount,
        recurring_before=run.recurring_before,
        recurring_after=run.recurring_after,
        actions=tuple(
            ActionResult(
                key=step.key,
                action=Action(step.action),
                kind=step.kind,
                mpn=step.mpn,
                outcome=ActionOutcome(step.outcome),
                addition_id=step.addition_id,
                error=step.error,
            )
            for step in run.actions
        ),
        events=tuple(
            RunEvent(
                kind=event.kind,
                key=event.key,
                addition_id=event.addition_id,
                message=event.message,
            )
            for event in run.events
        ),
    )
