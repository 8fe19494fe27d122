"""Bulk sync: many tasks in one go, each to the agreement named or to its one eligible agreement.

A task without exactly one eligible agreement is skipped with the reason (not a failure: someone
decides where it goes); a task that fails is reported and the others go on. Nothing here prints
or prompts: progress goes to a callback and the result is a :class:`BulkSyncResult`, so the CLI,
the API or a background job can each show it their way.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from psasync.services import integrations, planning
from psasync.services import sync as sync_service
from psasync.services import tasks as task_service
from psasync.services.actor import Actor
from psasync.services.context import Services
from psasync.services.errors import CustomerNotMapped, Invalid, ServiceError
from psasync.services.sync import SyncOutcome
from psasync.services.tasks import TaskView
from psasync.services.types import PriceSource, TaskStatus
from psasync.store import journal

log = logging.getLogger(__name__)

# Tasks synced at the same time, at most.
MAX_CONCURRENCY = 20
# Tasks a bulk sync run in the foreground (``psasync sync``) syncs at the same time unless told
# otherwise. A sync mostly waits on the vendors, so a few at once finish several times sooner;
# a 429 pauses every request to that host together (adapters.http.HostBackoff), so more at once
# cannot hammer a throttled PSA. (A queued job keeps ``BulkSyncOptions``' one at a time: its
# worker shares the queue with other jobs.)
DEFAULT_CONCURRENCY = 6


class Result(StrEnum):
    SYNCED = "synced"
    SKIPPED = "skipped"
    FAILED = "failed"


class SkipReason(StrEnum):
    """Why a task was left for someone to decide (its ``code`` in a report)."""

    CUSTOMER_NOT_MAPPED = "CustomerNotMapped"
    NO_AGREEMENTS = "NoAgreements"
    NO_ELIGIBLE_AGREEMENT = "NoEligibleAgreement"
    SEVERAL_ELIGIBLE_AGREEMENTS = "SeveralEligibleAgreements"
    TASK_IGNORED = "TaskIgnored"


@dataclass(frozen=True)
class TaskRun:
    """What the bulk sync did with one task.

    ``code`` is the service error's code for a failure, the :class:`SkipReason` for a skip.
    """

    task_id: int
    result: Result
    task: TaskView | None
    agreement_id: int | None = None
    message: str = ""
    code: str | None = None
    details: Any = None
    outcome: SyncOutcome | None = None
    skip_reason: SkipReason | None = None


@dataclass(frozen=True)
class BulkSyncOptions:
    """Which tasks (none named: every new one), to which agreement (None: each task's one
    eligible agreement), priced from where, and how many at the same time. Tasks of one
    customer (or all tasks, when one agreement is named) go one after another, in order: two
    syncs of one agreement at once would each plan against additions the other is changing.

    ``converge``: the run may be a repeat of one cut short (a background job run again after
    its worker died). A task already synced is then reported synced ("already synced") instead
    of failing, an ignored one is skipped, and a task whose sync was cut off resumes on the
    agreement it started with (the journal's), whatever ``agreement_id`` says.
    """

    task_ids: tuple[int, ...] = ()
    agreement_id: int | None = None
    price_source: PriceSource = PriceSource.MARKETPLACE
    concurrency: int = 1
    converge: bool = False

    def __post_init__(self) -> None:
        # A task named twice is synced once.
        object.__setattr__(self, "task_ids", tuple(dict.fromkeys(self.task_ids)))


@dataclass(frozen=True)
class BulkSyncProgress:
    """Reported once before the first task (``done`` 0, ``last`` None) and after each task."""

    done: int
    total: int
    last: TaskRun | None = None


@dataclass(frozen=True)
class BulkSyncResult:
    """Every task's run, in the order the tasks were named (or found)."""

    runs: tuple[TaskRun, ...] = ()

    def count(self, result: Result) -> int:
        return sum(run.result is result for run in self.runs)

    @property
    def any_failed(self) -> bool:
        return any(run.result is Result.FAILED for run in self.runs)


def _ignore(_progress: BulkSyncProgress) -> None:
    pass


async def bulk_sync(
    services: Services,
    actor: Actor,
    options: BulkSyncOptions,
    *,
    progress: Callable[[BulkSyncProgress], None] = _ignore,
) -> BulkSyncResult:
    """Sync the named tasks, or every new one when none is named; at most
    ``options.concurrency`` at a time.

    ConnectWise must be connected first (:class:`ServiceError` otherwise, before any task runs);
    after that, nothing a single task does raises: it is that task's :class:`TaskRun`.
    """

    async def report(update: BulkSyncProgress) -> None:
        progress(update)

    return await bulk_sync_reporting(services, actor, options, progress=report)


async def bulk_sync_reporting(
    services: Services,
    actor: Actor,
    options: BulkSyncOptions,
    *,
    progress: Callable[[BulkSyncProgress], Awaitable[None]],
) -> BulkSyncResult:
    """:func:`bulk_sync` with a progress reporter that is awaited (a background job records
    each report in the database). An exception the reporter raises ends the bulk sync."""
    _check(options)
    await integrations.psa_for(services, actor.tenant_id)
    # Each task with what it waits its turn for; a named task is read again just before its
    # sync (its status may change while others sync).
    targets: list[tuple[int, TaskView | None, object]] = [
        (task_id, None, _turn(options, task_id, await _view(services, actor, task_id)))
        for task_id in options.task_ids
    ]
    if not targets:
        targets = [
            (task.id, task, _turn(options, task.id, task))
            for task in await new_tasks(services, actor)
        ]
    total = len(targets)
    await progress(BulkSyncProgress(done=0, total=total))
    gate = asyncio.Semaphore(options.concurrency)
    in_turn: defaultdict[object, asyncio.Lock] = defaultdict(asyncio.Lock)
    finished = 0

    async def one(task_id: int, task: TaskView | None, turn: object) -> TaskRun:
        nonlocal finished
        # Taken before any await, so the tasks of one customer queue in the order given.
        async with in_turn[turn], gate:
            run = await _sync_task(services, actor, task_id, task=task, options=options)
        finished += 1
        await progress(BulkSyncProgress(done=finished, total=total, last=run))
        return run

    running = [asyncio.ensure_future(one(*target)) for target in targets]
    try:
        runs = await asyncio.gather(*running)
    except BaseException:
        # The bulk sync ends here (its reporter failed, or it was cancelled): no task of it
        # may go on syncing behind the caller's back, e.g. while a job is run again.
        for waiting in running:
            waiting.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        raise
    return BulkSyncResult(runs=tuple(runs))


async def _view(services: Services, actor: Actor, task_id: int) -> TaskView | None:
    """The named task, or None when it cannot be read (its sync reports why)."""
    try:
        return await task_service.get_task(services, actor, task_id)
    except ServiceError:
        return None


def _turn(options: BulkSyncOptions, task_id: int, task: TaskView | None) -> object:
    """What the task waits its turn for: the one agreement named, else its customer (whose
    tasks go to the same agreement); a task that could not be read waits for nothing."""
    if options.agreement_id is not None:
        return ("agreement", options.agreement_id)
    if task is not None:
        return ("customer", task.customer_id)
    return ("task", task_id)


def _check(options: BulkSyncOptions) -> None:
    if not 1 <= options.concurrency <= MAX_CONCURRENCY:
        raise Invalid(
            f"Sync 1 to {MAX_CONCURRENCY} tasks at the same time, not {options.concurrency}.",
            code="InvalidConcurrency",
        )
    if options.agreement_id is not None and not options.task_ids:
        raise Invalid(
            "Name the tasks to sync to one agreement; every new task goes to its own "
            "eligible agreement.",
            code="AgreementNeedsTasks",
        )


async def new_tasks(services: Services, actor: Actor) -> list[TaskView]:
    """Every task still to be synced (status new), oldest order first."""
    found: list[TaskView] = []
    while True:
        wanted = task_service.task_filter(
            status="new", limit=task_service.MAX_PAGE, offset=len(found)
        )
        page = await task_service.list_tasks(services, actor, wanted)
        found.extend(page.items)
        if not page.items or len(found) >= page.total:
            break
    return sorted(found, key=lambda task: (task.created_at, task.id))


class _Skip(Exception):
    """The task has no single agreement to go to; not a failure, someone decides."""

    def __init__(self, reason: SkipReason, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details


async def _single_eligible_agreement(services: Services, actor: Actor, task_id: int) -> int:
    """The one agreement the task can go to; none or several is a skip with the reason."""
    try:
        choices = await planning.agreements(services, actor, task_id)
    except CustomerNotMapped as error:
        raise _Skip(SkipReason.CUSTOMER_NOT_MAPPED, error.message, error.details) from None
    eligible = [choice.agreement for choice in choices if choice.eligibility.eligible]
    if len(eligible) == 1:
        return eligible[0].id
    if eligible:
        ids = ", ".join(f"#{agreement.id} {agreement.name}" for agreement in eligible)
        raise _Skip(
            SkipReason.SEVERAL_ELIGIBLE_AGREEMENTS,
            f"{len(eligible)} eligible agreements ({ids})",
            {"eligibleAgreementIds": [agreement.id for agreement in eligible]},
        )
    if not choices:
        raise _Skip(
            SkipReason.NO_AGREEMENTS, "the customer's company has no agreements in ConnectWise"
        )
    why = "; ".join(
        f"#{choice.agreement.id} {choice.agreement.name}: "
        + ", ".join(reason.code.value for reason in choice.eligibility.reasons)
        for choice in choices
    )
    raise _Skip(SkipReason.NO_ELIGIBLE_AGREEMENT, f"no eligible agreement ({why})")


async def _sync_task(
    services: Services,
    actor: Actor,
    task_id: int,
    *,
    task: TaskView | None,
    options: BulkSyncOptions,
) -> TaskRun:
    """Sync one task; anything that goes wrong is the task's result, never an exception."""
    chosen = options.agreement_id
    try:
        if task is None:
            task = await task_service.get_task(services, actor, task_id)
        if options.converge:
            if task.status is TaskStatus.SYNCED:
                return TaskRun(
                    task_id, Result.SYNCED, task, task.agreement_id, message="already synced"
                )
            if task.status is TaskStatus.IGNORED:
                raise _Skip(SkipReason.TASK_IGNORED, "the task is ignored: un-ignore it first")
            chosen = await _interrupted_on(services, actor, task_id) or chosen
        if chosen is None:
            chosen = await _single_eligible_agreement(services, actor, task_id)
        outcome = await sync_service.sync(
            services, actor, task_id, agreement_id=chosen, price_source=options.price_source
        )
    except _Skip as skip:
        return TaskRun(
            task_id,
            Result.SKIPPED,
            task,
            message=skip.message,
            code=skip.reason.value,
            details=skip.details,
            skip_reason=skip.reason,
        )
    except ServiceError as error:
        return TaskRun(
            task_id,
            Result.FAILED,
            task,
            chosen,
            message=error.message,
            code=error.code,
            details=error.details,
        )
    except Exception as error:  # one task's crash must not end the run; it is reported
        log.exception("sync of task %s failed unexpectedly", task_id)
        message = f"{type(error).__name__}: {error}"
        return TaskRun(task_id, Result.FAILED, task, chosen, message=message, code="InternalError")
    return TaskRun(
        task_id, Result.SYNCED, outcome.task, chosen, message=_summary(outcome), outcome=outcome
    )


async def _interrupted_on(services: Services, actor: Actor, task_id: int) -> int | None:
    """The agreement of the task's sync that was cut short after changing something, if any:
    the sync resumes that run (its journal) rather than planning anew."""
    async with services.db.session() as session:
        run = await journal.unfinished_run(session, actor.tenant_id, task_id)
    return run.agreement_id if run is not None else None


def _summary(outcome: SyncOutcome) -> str:
    changes = len(outcome.actions)
    resumed = " (resumed)" if outcome.resumed else ""
    return f"{changes} change{'s' if changes != 1 else ''}{resumed}"
