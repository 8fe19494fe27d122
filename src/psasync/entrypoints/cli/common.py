"""What the operator commands of the CLI share: settings and the marketplace password, a logged-in
session on freshly built :class:`Services`, and bulk sync.

The commands themselves (``psasync check-changes``, ``tasks``, ``sync``, ``db upgrade``) live in
``operations.py``; the tables and JSON they print are in ``output.py``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from psasync.config import Settings
from psasync.services import ServiceError, Services, UserSession, auth, integrations, planning
from psasync.services import sync as sync_service
from psasync.services import tasks as task_service
from psasync.services.errors import CustomerNotMapped
from psasync.services.sync import SyncOutcome
from psasync.services.tasks import TaskView
from psasync.services.types import PriceSource
from psasync.store import DatabaseError

log = logging.getLogger(__name__)

PASSWORD_ENV = "PSASYNC_MARKETPLACE_PASSWORD"  # noqa: S105 - a variable name, no secret
USERNAME_ENV = "PSASYNC_MARKETPLACE_USERNAME"


class UsageProblem(Exception):
    """The command cannot run as invoked (configuration, options, no password): exit code 2."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# Settings, the marketplace and the password -----------------------------------------------------


def load_settings() -> Settings:
    """The PSASYNC_* settings; invalid ones are a :class:`UsageProblem` naming the variable."""
    try:
        return Settings()
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "settings"
            problems.append(f"PSASYNC_{where.upper()}: {problem['msg']}")
        raise UsageProblem(
            "The configuration is invalid: " + "; ".join(problems),
            hint="`psasync config` shows the effective settings.",
        ) from None


def marketplace_code(settings: Settings, given: str | None) -> str:
    """``--marketplace``, or the only configured marketplace when it is left out."""
    if given:
        return given
    codes = [marketplace.code for marketplace in settings.marketplaces]
    if len(codes) == 1:
        return codes[0]
    known = ", ".join(codes) or "none configured in PSASYNC_MARKETPLACES"
    raise UsageProblem(f"Name the marketplace with --marketplace ({known}).")


def marketplace_password() -> str:
    """The reseller user's password: ``PSASYNC_MARKETPLACE_PASSWORD``, else asked for with hidden
    input on a terminal, else the first line piped to stdin. None of them: :class:`UsageProblem`."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    missing = UsageProblem(
        f"No marketplace password: set {PASSWORD_ENV}, pipe it to stdin, or run the command "
        "in a terminal to be asked for it."
    )
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        raise missing
    if stdin.isatty():
        try:
            password: str = typer.prompt("Marketplace password", hide_input=True)
        except (typer.Abort, EOFError):
            raise missing from None
    else:
        password = stdin.readline().rstrip("\r\n")
    if not password:
        raise missing
    return password


@dataclass(frozen=True)
class Login:
    """Who runs an operator command: ``--marketplace``, ``--username`` and the password."""

    marketplace: str | None
    username: str
    password: str = field(repr=False)


def create_services(settings: Settings) -> Services:
    """``Services.create``; an unusable database URL is a :class:`UsageProblem`."""
    try:
        return Services.create(settings)
    except DatabaseError as error:
        raise UsageProblem(str(error)) from None


@asynccontextmanager
async def migrated_services(settings: Settings) -> AsyncIterator[Services]:
    """Services on a database migrated to the head, closed on the way out."""
    services = create_services(settings)
    try:
        await upgrade(services)
        yield services
    finally:
        await services.aclose()


async def upgrade(services: Services) -> tuple[str | None, str | None]:
    """Migrate the database to the head: the revisions before and after."""
    try:
        before = await services.db.revision()
        await services.db.upgrade()
        return before, await services.db.revision()
    except (DatabaseError, SQLAlchemyError) as error:
        raise UsageProblem(
            f"The database cannot be migrated: {error}",
            hint="Check PSASYNC_DATABASE_URL (`psasync config` shows it).",
        ) from None


@asynccontextmanager
async def logged_in(
    settings: Settings, login: Login
) -> AsyncIterator[tuple[Services, UserSession]]:
    """Migrated services and a session of the user, as the web app would hold after login."""
    code = marketplace_code(settings, login.marketplace)
    async with migrated_services(settings) as services:
        user = await auth.login(
            services, marketplace=code, username=login.username, password=login.password
        )
        try:
            yield services, user
        finally:
            auth.logout(services, user.id)


# Bulk sync --------------------------------------------------------------------------------------


class Result(StrEnum):
    SYNCED = "synced"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class TaskRun:
    """What a sync did with one task."""

    task_id: int
    result: Result
    task: TaskView | None
    agreement_id: int | None = None
    message: str = ""
    code: str | None = None
    details: Any = None
    outcome: SyncOutcome | None = None


class _Skip(Exception):
    """The task has no single agreement to go to; not a failure, the operator decides."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


async def new_tasks(services: Services, user: UserSession) -> list[TaskView]:
    """Every task still to be synced (status new), oldest order first."""
    found: list[TaskView] = []
    while True:
        wanted = task_service.task_filter(
            status="new", limit=task_service.MAX_PAGE, offset=len(found)
        )
        page = await task_service.list_tasks(services, user.actor, wanted)
        found.extend(page.items)
        if not page.items or len(found) >= page.total:
            break
    return sorted(found, key=lambda task: (task.created_at, task.id))


async def single_eligible_agreement(services: Services, user: UserSession, task_id: int) -> int:
    """The one agreement the task can go to; none or several is a skip with the reason."""
    try:
        choices = await planning.agreements(services, user.actor, task_id)
    except CustomerNotMapped as error:
        raise _Skip(error.message, error.details) from None
    eligible = [choice.agreement for choice in choices if choice.eligibility.eligible]
    if len(eligible) == 1:
        return eligible[0].id
    if eligible:
        ids = ", ".join(f"#{agreement.id} {agreement.name}" for agreement in eligible)
        raise _Skip(
            f"{len(eligible)} eligible agreements ({ids}): sync it with --agreement",
            {"eligibleAgreementIds": [agreement.id for agreement in eligible]},
        )
    if not choices:
        raise _Skip("the customer's company has no agreements in ConnectWise")
    why = "; ".join(
        f"#{choice.agreement.id} {choice.agreement.name}: "
        + ", ".join(reason.code.value for reason in choice.eligibility.reasons)
        for choice in choices
    )
    raise _Skip(f"no eligible agreement ({why})")


async def sync_task(
    services: Services,
    user: UserSession,
    task_id: int,
    *,
    agreement_id: int | None,
    price_source: PriceSource,
    task: TaskView | None = None,
) -> TaskRun:
    """Sync one task; anything that goes wrong is the task's result, never an exception."""
    chosen = agreement_id
    try:
        if task is None:
            task = await task_service.get_task(services, user.actor, task_id)
        if chosen is None:
            chosen = await single_eligible_agreement(services, user, task_id)
        outcome = await sync_service.sync(
            services, user.actor, task_id, agreement_id=chosen, price_source=price_source
        )
    except _Skip as skip:
        return TaskRun(task_id, Result.SKIPPED, task, message=skip.message, details=skip.details)
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


def _summary(outcome: SyncOutcome) -> str:
    changes = len(outcome.actions)
    resumed = " (resumed)" if outcome.resumed else ""
    return f"{changes} change{'s' if changes != 1 else ''}{resumed}"


async def sync_tasks(
    services: Services,
    user: UserSession,
    targets: Sequence[tuple[int, TaskView | None]],
    *,
    agreement_id: int | None,
    price_source: PriceSource,
    concurrency: int = 1,
    progress: Callable[[TaskRun], None] = lambda _run: None,
) -> list[TaskRun]:
    """Sync each ``(task id, task)``, at most ``concurrency`` at a time; results in input order.

    ConnectWise must be connected first (:class:`ServiceError` otherwise, before any task runs).
    """
    await integrations.connectwise_for(services, user.tenant_id)
    gate = asyncio.Semaphore(concurrency)

    async def one(task_id: int, task: TaskView | None) -> TaskRun:
        async with gate:
            run = await sync_task(
                services,
                user,
                task_id,
                agreement_id=agreement_id,
                price_source=price_source,
                task=task,
            )
        progress(run)
        return run

    return list(await asyncio.gather(*(one(task_id, task) for task_id, task in targets)))


async def sync_run(
    settings: Settings,
    login: Login,
    *,
    task_ids: Sequence[int],
    agreement_id: int | None,
    price_source: PriceSource,
    concurrency: int,
    progress_bar: Callable[[int], AbstractContextManager[Callable[[TaskRun], None]]],
) -> list[TaskRun]:
    """Log in and sync the named tasks, or every new one when none is named.

    ``progress_bar(total)`` gives the callback each finished task is reported to.
    """
    async with logged_in(settings, login) as (services, user):
        targets: list[tuple[int, TaskView | None]] = [(task_id, None) for task_id in task_ids]
        if not task_ids:
            targets = [(task.id, task) for task in await new_tasks(services, user)]
        with progress_bar(len(targets)) as advance:
            return await sync_tasks(
                services,
                user,
                targets,
                agreement_id=agreement_id,
                price_source=price_source,
                concurrency=concurrency,
                progress=advance,
            )
