"""Sync: apply a reviewed plan to ConnectWise, action by action, journalled.

The order of events makes a retry safe whatever happened before it:

1. the task is claimed (a second Sync of it gets 409 while this one runs);
2. the plan is checked — an ineligible agreement, invalid edits or a blocked plan are refused
   with nothing written — and stored in the journal with every action pending;
3. each action is applied and its outcome recorded before the next one starts;
4. the run and the task are marked synced.

A run cut short (vendor failure, timeout, crash) stays in the journal. The next Sync of the
task resumes *that* plan: it reads the agreement's additions, marks the actions ConnectWise
already shows (creates by their idempotency keys, cancels and updates by their values) and
applies only the rest, so nothing is written twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from psasync.adapters.connectwise import (
    AdditionChanges,
    AdditionWrite,
    ConnectWiseClient,
    ConnectWiseError,
)
from psasync.adapters.http import AdapterError
from psasync.domain.agreements import Addition
from psasync.domain.keys import find_applied_actions
from psasync.domain.plan import Action, PlannedAddition, PriceSource
from psasync.domain.review import ReviewedAddition
from psasync.services.context import Services
from psasync.services.errors import Conflict, Invalid, ServiceError, UpstreamFailed
from psasync.services.integrations import connectwise_for, note_connectwise_error
from psasync.services.planning import PreparedPlan, prepare_plan
from psasync.services.sessions import UserSession
from psasync.services.tasks import TaskView, load_task
from psasync.store import (
    ActionOutcome,
    RunOutcome,
    SyncAction,
    SyncRun,
    TaskStatus,
    journal,
    snapshots,
)
from psasync.store import tasks as task_store

log = logging.getLogger(__name__)

DONE = frozenset({ActionOutcome.APPLIED.value, ActionOutcome.FOUND_APPLIED.value})


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


async def sync(
    services: Services,
    user: UserSession,
    task_id: int,
    *,
    agreement_id: int,
    price_source: PriceSource,
    reviewed: Sequence[ReviewedAddition] | None = None,
) -> SyncOutcome:
    """Apply the task's plan to the agreement (see the module docstring)."""
    await _claim(services, user, task_id)
    wrote = False
    try:
        run, prepared = await _run_to_apply(
            services,
            user,
            task_id,
            agreement_id=agreement_id,
            price_source=price_source,
            reviewed=reviewed,
        )
        wrote = True
        if prepared is not None:
            connectwise, additions = prepared.context.connectwise, prepared.additions
        else:
            connectwise = await connectwise_for(services, user.tenant_id)
            additions = await _current_additions(services, user, connectwise, run)
        await _apply(services, user, connectwise, run, additions)
    except ServiceError:
        if not wrote:
            await _unclaim(services, user, task_id)
        raise
    except BaseException:
        # A crash mid-run: leave the task failed so a retry resumes at once (if even this
        # write fails, the claim lapses after the lease).
        if wrote:
            await _release(services, user, task_id, status=TaskStatus.FAILED, error=_INTERRUPTED)
        else:
            await _unclaim(services, user, task_id)
        raise
    return await _outcome(services, user, run.id, resumed=prepared is None)


_INTERRUPTED = "The sync was interrupted; Sync again to finish it (nothing is written twice)."


async def _claim(services: Services, user: UserSession, task_id: int) -> None:
    now = services.now()
    async with services.db.session() as session:
        task = await load_task(session, user.tenant_id, task_id)
        if task.status == TaskStatus.SYNCED.value:
            raise Conflict(f"task {task_id} is already synced", code="TaskSynced")
        if task.status == TaskStatus.IGNORED.value:
            raise Conflict(f"task {task_id} is ignored: un-ignore it first", code="TaskIgnored")
        claimed = await task_store.claim_task(
            session, user.tenant_id, task_id, now=now, until=now + services.sync_lease
        )
    if not claimed:
        raise Conflict(f"task {task_id} is being synced right now", code="TaskBusy")


async def _unclaim(services: Services, user: UserSession, task_id: int) -> None:
    async with services.db.session() as session:
        await task_store.unclaim_task(session, user.tenant_id, task_id)


async def _release(
    services: Services,
    user: UserSession,
    task_id: int,
    *,
    status: TaskStatus,
    error: str | None,
    agreement_id: int | None = None,
) -> None:
    async with services.db.session() as session:
        await task_store.release_task(
            session,
            user.tenant_id,
            task_id,
            status=status,
            error=error,
            now=services.now(),
            agreement_id=agreement_id,
        )


async def _run_to_apply(
    services: Services,
    user: UserSession,
    task_id: int,
    *,
    agreement_id: int,
    price_source: PriceSource,
    reviewed: Sequence[ReviewedAddition] | None,
) -> tuple[SyncRun, PreparedPlan | None]:
    """The interrupted run to resume, or a new run of a freshly checked plan.

    Returns the run and, for a new run, the plan with what was read to make it (None for a
    resumed run: its agreement must be read again).
    """
    async with services.db.session() as session:
        unfinished = await journal.unfinished_run(session, user.tenant_id, task_id)
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
        return unfinished, None
    prepared = await prepare_plan(
        services,
        user,
        task_id,
        agreement_id=agreement_id,
        price_source=price_source,
        reviewed=reviewed,
    )
    _check_not_blocked(prepared)
    return await _start_run(services, user, prepared, price_source), prepared


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
    services: Services, user: UserSession, prepared: PreparedPlan, price_source: PriceSource
) -> SyncRun:
    plan = prepared.plan
    run = SyncRun(
        tenant_id=user.tenant_id,
        task_id=plan.task_id,
        agreement_id=prepared.agreement.id,
        agreement_name=prepared.agreement.name,
        price_source=price_source.value,
        user=user.username,
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
            outcome=ActionOutcome.PENDING.value,
        )
        for position, action in enumerate(plan.actions, start=1)
    ]
    async with services.db.session() as session:
        return await journal.start_run(session, run, actions)


async def _current_additions(
    services: Services, user: UserSession, connectwise: ConnectWiseClient, run: SyncRun
) -> tuple[Addition, ...]:
    try:
        return tuple(await connectwise.additions(run.agreement_id))
    except ConnectWiseError as error:
        await note_connectwise_error(services, user.tenant_id, error)
        await _fail(services, user, run, error=error.message)
        raise _vendor_failure(error, run) from None
    except AdapterError as error:
        await _fail(services, user, run, error=error.message)
        raise _vendor_failure(error, run) from None


async def _apply(
    services: Services,
    user: UserSession,
    connectwise: ConnectWiseClient,
    run: SyncRun,
    additions: tuple[Addition, ...],
) -> None:
    planned = {action.key: action for action in snapshots.actions_from_json(run.plan_json)}
    found = find_applied_actions(planned.values(), additions)
    for step in run.actions:
        if step.outcome in DONE:
            continue
        action = planned[step.key]
        if step.key in found:
            await _record(services, step, ActionOutcome.FOUND_APPLIED, found[step.key])
            continue
        try:
            addition_id = await _write(connectwise, run.agreement_id, action)
        except (ConnectWiseError, AdapterError) as error:
            await _record(services, step, ActionOutcome.FAILED, step.addition_id, error.message)
            if isinstance(error, ConnectWiseError):
                await note_connectwise_error(services, user.tenant_id, error)
            await _fail(services, user, run, error=f"{step.key}: {error.message}")
            raise _vendor_failure(error, run) from None
        await _record(services, step, ActionOutcome.APPLIED, addition_id)
    await _end_run(services, user, run, succeeded=True, error=None)
    log.info("task %s synced to agreement %s (run %s)", run.task_id, run.agreement_id, run.id)


async def _write(connectwise: ConnectWiseClient, agreement_id: int, action: PlannedAddition) -> int:
    if action.action is Action.CREATE:
        created = await connectwise.create_addition(
            agreement_id, AdditionWrite.from_planned(action), key=action.key
        )
        return created.id
    if action.addition_id is None:  # the planner always targets updates and cancels
        raise ValueError(f"{action.key} has no addition to {action.action.value}")
    if action.action is Action.CANCEL:
        if action.cancelled_date is None:
            raise ValueError(f"{action.key} cancels without a date")
        await connectwise.cancel_addition(
            agreement_id, action.addition_id, cancelled_date=action.cancelled_date
        )
        return action.addition_id
    changes = AdditionChanges(
        quantity=action.quantity,
        unit_price=action.unit_price,
        unit_cost=action.unit_cost,
        cancelled_date=action.cancelled_date,
        bill_customer=action.bill_customer,
        taxable=action.taxable,
        invoice_description=action.description or None,
    )
    await connectwise.update_addition(agreement_id, action.addition_id, changes)
    return action.addition_id


async def _record(
    services: Services,
    step: SyncAction,
    outcome: ActionOutcome,
    addition_id: int | None,
    error: str | None = None,
) -> None:
    async with services.db.session() as session:
        await journal.record_action(
            session,
            step.id,
            outcome=outcome,
            addition_id=addition_id,
            error=error,
            now=services.now(),
        )
    step.outcome, step.addition_id, step.error = outcome.value, addition_id, error


async def _fail(services: Services, user: UserSession, run: SyncRun, *, error: str) -> None:
    await _end_run(services, user, run, succeeded=False, error=error)


async def _end_run(
    services: Services, user: UserSession, run: SyncRun, *, succeeded: bool, error: str | None
) -> None:
    """Close the run in the journal and release the task, synced or failed, in one transaction."""
    async with services.db.session() as session:
        await journal.finish_run(
            session,
            run.id,
            outcome=RunOutcome.SUCCEEDED if succeeded else RunOutcome.FAILED,
            error=error,
            now=services.now(),
        )
        await task_store.release_task(
            session,
            user.tenant_id,
            run.task_id,
            status=TaskStatus.SYNCED if succeeded else TaskStatus.FAILED,
            error=error,
            now=services.now(),
            agreement_id=run.agreement_id if succeeded else None,
        )


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


async def _outcome(
    services: Services, user: UserSession, run_id: int, *, resumed: bool
) -> SyncOutcome:
    async with services.db.session() as session:
        run = await journal.get_run(session, user.tenant_id, run_id)
        if run is None:  # the journal lost a row it just wrote: a broken database
            raise RuntimeError(f"sync run {run_id} is missing from the journal")
        task = TaskView.of(await load_task(session, user.tenant_id, run.task_id))
        return run_outcome(run, task, resumed=resumed)


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
    )
