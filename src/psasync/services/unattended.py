"""The unattended run (DESIGN §8): Check Changes, the auto-sync policy on every new task, and a
digest to the tenant's people — run by a worker as a job of kind ``automation``, deferred by the
schedule (:func:`defer_due_runs`) or by "Run now" (:func:`submit_run`), the same way.

The run reads the marketplace as the tenant's integration user and acts as ``automation``
(history shows that name). For each task Check Changes found and no run decided yet, it syncs
the task through the same :func:`~psasync.services.sync.sync` a person uses (claimed, journalled,
verified) or records why it waits for review. A run cut short converges when run again: a
synced task is not new any more, a task left waiting keeps its reason, and a sync that was cut
off resumes from its journal on the agreement it started with.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from psasync.domain.automation import (
    AgreementOption,
    AutoSyncPolicy,
    Decision,
    PlanFacts,
    SyncTo,
    Wait,
    choose_agreement,
    decide,
)
from psasync.domain.orders import LineType, OrderType
from psasync.domain.schedule import ScheduleError, slot_of
from psasync.services import check_changes, mappings, notify, planning
from psasync.services import jobs as job_service
from psasync.services import sync as sync_service
from psasync.services.actor import AUTOMATION, Actor
from psasync.services.automation import (
    NO_INTEGRATION_USER,
    AutomationSettings,
    automation_actor,
    settings_of,
)
from psasync.services.claims import INTERRUPTED
from psasync.services.context import Services
from psasync.services.errors import Conflict, CustomerNotMapped, Invalid, ServiceError
from psasync.services.integrations import psa_errors, psa_for
from psasync.services.jobs import FanOut, JobView, Progress, runs, runs_parts
from psasync.services.tasks import TaskView
from psasync.store import JobKind, JobStatus, journal
from psasync.store import automation as automation_store
from psasync.store import jobs as job_store
from psasync.store import tenants as tenant_store

log = logging.getLogger(__name__)

CHECK_RUNNING = "Check Changes was already running for this account: this run was skipped."


def lock_of(tenant_id: int) -> str:
    """One unattended run at a time per tenant, on every worker; and one waiting."""
    return f"automation:{tenant_id}"


# Deferring runs ---------------------------------------------------------------------------------


async def submit_run(services: Services, actor: Actor, *, trigger: str = "manual") -> JobView:
    """Queue the tenant's unattended run now, exactly as the schedule does (same locks).

    Refused (422 ``NoIntegrationUser``) without an integration user; 409 ``JobQueued`` when a
    run is already waiting.
    """
    job_service.queue_of(services)
    settings = await settings_of(services, actor.tenant_id)
    if not settings.runs_unattended:
        raise Invalid(NO_INTEGRATION_USER, code="NoIntegrationUser")
    lock = lock_of(actor.tenant_id)
    return await job_service.submit(
        services,
        actor,
        JobKind.AUTOMATION,
        {"trigger": trigger},
        lock=lock,
        queueing_lock=lock,
    )


async def defer_due_runs(services: Services, now: dt.datetime) -> list[int]:
    """Queue the run of every tenant whose scheduled slot has begun; the job ids queued.

    Each tenant's slot is claimed with one conditional UPDATE before its job is queued, so
    however many workers (or repeated calls) defer for the same slot, one job is queued.
    """
    async with services.db.session() as session:
        rows = await automation_store.scheduled_tenants(session, now)
        due = [(row.tenant_id, row.next_run_at) for row in rows]
    queued: list[int] = []
    for tenant_id, seen in due:
        job = await _defer(services, tenant_id, seen=seen, now=now)
        if job is not None:
            queued.append(job.id)
    return queued


async def _defer(
    services: Services, tenant_id: int, *, seen: dt.datetime | None, now: dt.datetime
) -> JobView | None:
    settings = await settings_of(services, tenant_id)
    try:
        schedule = settings.schedule
        slot = slot_of(schedule, now) if schedule else None
    except ScheduleError as error:
        log.warning("tenant %s: its schedule cannot be used: %s", tenant_id, error)
        return None
    if slot is None:
        return None
    async with services.db.session() as session:
        won = await automation_store.claim_slot(
            session, tenant_id, seen=seen, next_run_at=slot.next
        )
    if not won:
        return None
    actor = Actor(tenant_id=tenant_id, name=AUTOMATION)
    try:
        return await submit_run(services, actor, trigger="schedule")
    except ServiceError as refused:  # a run already waits (409), or the user was forgotten
        log.info("tenant %s: scheduled run not queued: %s", tenant_id, refused.message)
        return None


async def last_run(services: Services, actor: Actor) -> JobView | None:
    """The tenant's latest unattended run (queued, running or ended); a request that was not
    queued because one was already waiting does not count."""
    page = await job_service.list_jobs(services, actor, kind=JobKind.AUTOMATION, limit=10)
    return next((job for job in page.items if job.status is not JobStatus.CANCELLED), None)


# The run ----------------------------------------------------------------------------------------


@dataclass
class _Report:
    """What one unattended run did; kept on the job (as JSON) while its tasks are settled."""

    started_at: dt.datetime
    auto_sync: bool
    new_tasks: int = 0
    check_error: str | None = None
    skipped: str | None = None
    synced: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    busy: list[dict[str, Any]] = field(default_factory=list)
    notified: dict[str, Any] | None = None
    next_run_at: dt.datetime | None = None

    def json(self) -> dict[str, Any]:
        return {
            "startedAt": self.started_at.isoformat(),
            "skipped": self.skipped,
            "autoSync": self.auto_sync,
            "check": {"newTasks": self.new_tasks, "error": self.check_error},
            "counts": {
                "newTasks": self.new_tasks,
                "synced": len(self.synced),
                "waiting": len(self.waiting),
                "failed": len(self.failed),
                "busy": len(self.busy),
            },
            "synced": self.synced,
            "waiting": self.waiting,
            "failed": self.failed,
            "busy": self.busy,
            "notify": self.notified,
            "nextRun": self.next_run_at.isoformat() if self.next_run_at else None,
        }

    @classmethod
    def of_json(cls, data: dict[str, Any]) -> _Report:
        next_run = data.get("nextRun")
        return cls(
            started_at=dt.datetime.fromisoformat(data["startedAt"]),
            auto_sync=bool(data.get("autoSync")),
            new_tasks=int(data.get("check", {}).get("newTasks", 0)),
            check_error=data.get("check", {}).get("error"),
            skipped=data.get("skipped"),
            synced=list(data.get("synced", [])),
            waiting=list(data.get("waiting", [])),
            failed=list(data.get("failed", [])),
            busy=list(data.get("busy", [])),
            next_run_at=dt.datetime.fromisoformat(next_run) if next_run else None,
        )

    def add(self, settled: dict[str, Any]) -> None:
        """One task's outcome, as :func:`settle_task` gave it."""
        entry = {name: value for name, value in settled.items() if name != "outcome"}
        kept = {
            "synced": self.synced,
            "waiting": self.waiting,
            "failed": self.failed,
            "busy": self.busy,
        }.get(settled["outcome"])
        if kept is not None:  # "elsewhere": another run settled it first; not this run's
            kept.append(entry)


@runs(JobKind.AUTOMATION)
async def run_automation_job(
    services: Services, job: JobView, progress: Progress
) -> dict[str, Any] | FanOut:
    """The worker's side of an ``automation`` job: Check Changes, then one part per task to
    decide (run by any worker, one lock per task), then :func:`finish_automation`."""
    del progress  # the parts report it
    return await run_automation(services, job.tenant_id, job_id=job.id)


async def run_automation(
    services: Services, tenant_id: int, *, job_id: int | None = None
) -> dict[str, Any] | FanOut:
    """Check Changes as the integration user; then the tasks not decided yet, each to be
    settled by :func:`settle_task` (the run's parts) before :func:`finish_automation`
    notifies. A run skipped because Check Changes was running ends at once.

    Without an integration user (or with one the marketplace refuses) the run is refused
    (:class:`Invalid`) and the job ends failed with the reason.
    """
    settings = await settings_of(services, tenant_id)
    report = _Report(started_at=services.now(), auto_sync=settings.policy.enabled)
    actor = await automation_actor(services, tenant_id)
    report.next_run_at = await _record_start(services, settings, tenant_id, report.started_at)
    log.info("tenant %s: unattended run%s", tenant_id, f" (job {job_id})" if job_id else "")
    try:
        found = await check_changes.check_changes(services, actor)
        report.new_tasks = len(found.created)
    except Conflict as busy:
        if busy.code != "CheckRunning":
            raise
        report.skipped = CHECK_RUNNING
        return report.json()
    except ServiceError as failure:  # the marketplace failed: the known tasks still go on
        report.check_error = failure.message
    async with services.db.session() as session:
        rows = await automation_store.undecided_tasks(
            session, tenant_id, automation=AUTOMATION, interrupted=INTERRUPTED
        )
        # A task an earlier run (or a bulk sync) still has in hand is that job's to settle.
        in_hand = await job_store.parts_in_hand(session, tenant_id, besides=job_id or 0)
        tasks = [TaskView.of(row) for row in rows if str(row.id) not in in_hand]
    if tasks and settings.policy.enabled:
        try:
            await psa_for(services, tenant_id)
        except ServiceError as failure:  # nothing can sync: one failure, not one per task
            report.failed.append({"taskId": None, "title": "Auto-sync", "reason": failure.message})
            tasks = []
    return settling(tenant_id, tasks, interim=report.json())


def settling(tenant_id: int, tasks: Sequence[TaskView], *, interim: dict[str, Any]) -> FanOut:
    """The tasks as parts of a job, oldest order first, each under its customer's lock.

    DESIGN §8 asks for one lock per task; a lock per customer keeps that (one sync of a task at
    a time) and adds what the journal cannot: two orders of one subscription apply in the
    order they were placed (Procrastinate runs the jobs of one lock in the order they were
    queued), and one customer's agreements take one sync at a time. Other customers' tasks
    run side by side on every worker.
    """
    keys = tuple(dict.fromkeys(str(task.id) for task in tasks))
    locks = {str(task.id): f"customer:{tenant_id}:{task.customer_id}" for task in tasks}
    return FanOut(keys=keys, interim=interim, locks=locks)


async def _record_start(
    services: Services, settings: AutomationSettings, tenant_id: int, now: dt.datetime
) -> dt.datetime | None:
    schedule = settings.schedule
    upcoming = slot_of(schedule, now).next if schedule else None
    async with services.db.session() as session:
        await automation_store.record_run(session, tenant_id, started_at=now, next_run_at=upcoming)
        row = await automation_store.automation_config(session, tenant_id)
        return row.next_run_at if row and schedule else None


async def finish_automation(
    services: Services, job: JobView, interim: dict[str, Any], parts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The run's end: its tasks' outcomes gathered, the digest sent; the job's result."""
    report = _Report.of_json(interim)
    for settled in parts:
        report.add(settled)
    settings = await settings_of(services, job.tenant_id)
    report.notified = await _notify(services, job.tenant_id, settings, report)
    return report.json()


@runs_parts(JobKind.AUTOMATION, finish=finish_automation)
async def settle_task_part(services: Services, job: JobView, key: str) -> dict[str, Any]:
    """One part of an unattended run: the task ``key`` synced or left waiting."""
    return await settle_task(services, job.tenant_id, int(key))


async def settle_task(services: Services, tenant_id: int, task_id: int) -> dict[str, Any]:
    """Sync one task under the tenant's auto-sync policy or leave it waiting with the reason;
    whatever fails is the task's. ``outcome`` says which: synced, waiting, failed, busy, or
    elsewhere (another run decided it first)."""
    async with services.db.session() as session:
        rows = await automation_store.undecided_tasks(
            session, tenant_id, automation=AUTOMATION, interrupted=INTERRUPTED, task_id=task_id
        )
        tasks = [TaskView.of(row) for row in rows]
    if not tasks:
        return {"outcome": "elsewhere", "taskId": task_id}
    task = tasks[0]
    entry: dict[str, Any] = {"taskId": task.id, "title": task.title}
    try:
        policy = (await settings_of(services, tenant_id)).policy
        actor = await _automation_actor(services, tenant_id)
        resumed = await _resumed(services, actor, task)
        decision, planned = (
            (resumed, None) if resumed else await _decision(services, actor, policy, task)
        )
        if isinstance(decision, Wait):
            await _wait(services, actor, task, decision.reason)
            return {"outcome": "waiting", **entry, "reason": decision.reason}
        outcome = await sync_service.sync(
            services,
            actor,
            task.id,
            agreement_id=decision.agreement_id,
            price_source=policy.price_source,
            planned=planned,
        )
    except Conflict as conflict:  # a person (or a bulk sync) has it right now: the next run
        return {"outcome": "busy", **entry, "reason": conflict.message, "code": conflict.code}
    except ServiceError as error:
        return {"outcome": "failed", **entry, "reason": error.message, "code": error.code}
    except Exception as error:  # one task's crash must not end the run; it is reported
        log.exception("unattended sync of task %s failed unexpectedly", task.id)
        reason = f"{type(error).__name__}: {error}"
        return {"outcome": "failed", **entry, "reason": reason, "code": "InternalError"}
    return {
        "outcome": "synced",
        **entry,
        "agreementId": outcome.agreement_id,
        "agreementName": outcome.agreement_name,
        "runId": outcome.run_id,
        "resumed": outcome.resumed,
    }


# A run's parts act as the integration user; a worker logs it in once per tenant and keeps the
# session (it renews its own token) this long, not once per task.
_ACTOR_KEPT = dt.timedelta(minutes=5)
_actors: dict[int, tuple[Services, dt.datetime, Actor]] = {}


async def _automation_actor(services: Services, tenant_id: int) -> Actor:
    kept = _actors.get(tenant_id)
    now = services.now()
    if kept is not None and kept[0] is services and now < kept[1]:
        return kept[2]
    actor = await automation_actor(services, tenant_id)
    _actors[tenant_id] = (services, now + _ACTOR_KEPT, actor)
    return actor


async def _resumed(services: Services, actor: Actor, task: TaskView) -> SyncTo | None:
    """A sync of this task that was cut short after changing something resumes on its
    agreement, whatever the policy says now: it was decided, and half of it is written."""
    async with services.db.session() as session:
        run = await journal.unfinished_run(session, actor.tenant_id, task.id)
    return SyncTo(run.agreement_id) if run is not None else None


async def _decision(
    services: Services, actor: Actor, policy: AutoSyncPolicy, task: TaskView
) -> tuple[Decision, planning.PreparedPlan | None]:
    """What the policy decides, and the plan it decided on (the sync uses it rather than
    reading everything again a moment later)."""
    if not policy.enabled or task.order_type not in policy.order_types:
        return choose_agreement(policy, order_type=task.order_type, eligible=()), None
    try:
        options = await _eligible(services, actor, task)
        chosen = choose_agreement(policy, order_type=task.order_type, eligible=options)
        if isinstance(chosen, Wait):
            return chosen, None
        prepared = await planning.prepare_plan(
            services,
            actor,
            task.id,
            agreement_id=chosen.agreement_id,
            price_source=policy.price_source,
            reviewed=None,
        )
    except (CustomerNotMapped, Invalid) as unusable:  # a person must look at it
        return Wait(unusable.message), None
    facts = PlanFacts.of(prepared.plan)
    return decide(policy, order_type=task.order_type, eligible=options, plan=facts), prepared


async def _eligible(services: Services, actor: Actor, task: TaskView) -> list[AgreementOption]:
    """The eligible agreements; for a Change Order, whether each already carries the
    product."""
    choices = await planning.agreements(services, actor, task.id)
    eligible = [choice.agreement for choice in choices if choice.eligibility.eligible]
    if task.order_type is not OrderType.CHANGE or not eligible:
        return [AgreementOption(agreement.id, agreement.name) for agreement in eligible]
    context = await planning.task_context(services, actor, task.id)
    mpns = [line.mpn for line in context.task.order.lines if line.type is LineType.RECURRING]
    async with psa_errors(services, actor.tenant_id):
        catalog = await mappings.catalog_for(services, actor, mpns, context.psa)
        products = {item.id for item in catalog.items.values()}
        options = []
        for agreement in eligible:
            lines = await context.psa.lines(agreement.id)
            carries = any(
                line.product.id in products and line.is_ongoing_on(context.task.change_date)
                for line in lines
            )
            options.append(AgreementOption(agreement.id, agreement.name, carries))
    return options


async def _wait(services: Services, actor: Actor, task: TaskView, reason: str) -> None:
    async with services.db.session() as session:
        await automation_store.set_waiting_reason(session, actor.tenant_id, task.id, reason)


async def _notify(
    services: Services, tenant_id: int, settings: AutomationSettings, report: _Report
) -> dict[str, Any] | None:
    """The digest to the tenant's e-mails and webhook; a failing channel is recorded, never
    raised (the work is done)."""
    if not settings.emails and not settings.webhook_url:
        return None
    async with services.db.session() as session:
        tenant = await tenant_store.get_tenant(session, tenant_id)
    failures = [
        notify.DigestTask(item["taskId"], item["title"], item["reason"]) for item in report.failed
    ]
    if report.check_error:
        failures.insert(0, notify.DigestTask(None, "Check Changes", report.check_error))
    digest = notify.Digest(
        tenant=tenant.name if tenant else str(tenant_id),
        ran_at=report.started_at,
        new_tasks=report.new_tasks,
        synced=tuple(notify.DigestTask(i["taskId"], i["title"]) for i in report.synced),
        waiting=tuple(
            notify.DigestTask(i["taskId"], i["title"], i["reason"]) for i in report.waiting
        ),
        failed=tuple(failures),
    )
    try:
        outcome = await notify.notify(
            services,
            tenant_id=tenant_id,
            digest=digest,
            emails=settings.emails,
            webhook_url=settings.webhook_url,
        )
    except Exception as error:  # noqa: BLE001 - a notification never undoes the work
        log.exception("tenant %s: the notification failed", tenant_id)
        return {"summary": f"not sent: {type(error).__name__}: {error}", "channels": []}
    return outcome.as_json()
