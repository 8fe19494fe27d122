"""A sync run's claim on its task: ownership by token, kept alive by a heartbeat (DESIGN §6).

    async with TaskClaim(services, tenant_id=1, task_id=7) as claim:
        async with claim.fenced() as session:      # every journal write goes through here
            await journal.record_action(session, ...)
        await claim.confirm()                       # before each vendor write
        ...
        async with claim.finishing() as session:      # the last write releases the task
            await journal.finish_run(session, ...)
            await claim.release_in(session, status=TaskStatus.SYNCED, ...)

Ownership, not a clock, decides who may write: the claim is a random token stored on the task
with a lease. While the run lives a heartbeat renews the lease (also while the run waits on a
vendor's ``Retry-After``), so no other run can take the task over. Every journal write renews
it in the same transaction (the last one releases it instead) and is refused once another run
owns the task, and a heartbeat that finds the claim lost cancels the run before its next write.
A crashed run's lease lapses and exactly one other run claims the task (the claim is one
conditional UPDATE, the run to resume read in the same transaction) and resumes it.

Whichever way the ``async with`` ends, the claim is let go with a status: released by the run
itself (synced, or failed in one transaction with its journal), else failed here when the run
had started writing, else unclaimed with the task's status unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from psasync.services.context import Services
from psasync.services.errors import Conflict
from psasync.services.tasks import load_task
from psasync.store import RunOutcome, SyncRun, SyncTask, TaskStatus, journal
from psasync.store import tasks as task_store

log = logging.getLogger(__name__)

INTERRUPTED = "The sync was interrupted; Sync again to finish it (nothing is written twice)."


class ClaimLost(Conflict):
    """Another run owns the task now (this one outlived its lease): stop before writing more."""

    code = "ClaimLost"


class TaskClaim:
    """The hold one sync run has on one task; see the module docstring."""

    def __init__(self, services: Services, *, tenant_id: int, task_id: int) -> None:
        self.services = services
        self.tenant_id = tenant_id
        self.task_id = task_id
        self.token = secrets.token_hex(16)
        self.run: SyncRun | None = None
        # The task's interrupted run, read as the task is claimed: the one this run resumes.
        self.unfinished: SyncRun | None = None
        self.lost = False
        self._released = False
        self._owner: asyncio.Task[object] | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def lease(self) -> dt.timedelta:
        return self.services.sync_lease

    async def __aenter__(self) -> TaskClaim:
        now = self.services.now()
        async with self.services.db.session() as session:
            claimed = await task_store.claim_task(
                session,
                self.tenant_id,
                self.task_id,
                token=self.token,
                now=now,
                until=now + self.lease,
            )
            if not claimed:
                raise _refusal(await load_task(session, self.tenant_id, self.task_id), now)
            self.unfinished = await journal.unfinished_run(session, self.tenant_id, self.task_id)
        self._owner = asyncio.current_task()
        self._heartbeat = asyncio.create_task(self._beat(), name=f"claim-task-{self.task_id}")
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        await self._stop_heartbeat()
        if self.lost and isinstance(error, asyncio.CancelledError) and self._owner is not None:
            # Our own heartbeat cancelled the run: report it as the lost claim it is.
            self._owner.uncancel()
            raise ClaimLost(self._lost_message()) from None
        if self._released or self.lost or isinstance(error, ClaimLost):
            return False
        with contextlib.suppress(ClaimLost):
            await self._let_go(error)
        return False

    @contextlib.asynccontextmanager
    async def fenced(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits only while this run still owns the task (and renews it)."""
        async with self.services.db.session() as session:
            renewed = await task_store.renew_claim(
                session,
                self.tenant_id,
                self.task_id,
                token=self.token,
                until=self.services.now() + self.lease,
            )
            if not renewed:
                self.lost = True
                raise ClaimLost(self._lost_message())
            yield session

    @contextlib.asynccontextmanager
    async def finishing(self) -> AsyncIterator[AsyncSession]:
        """The run's last transaction, which must end with :meth:`release_in`.

        The release is its fence: it is conditional on the token like a renewal, and a lost
        claim raises :class:`ClaimLost` there, which rolls back every write made before it in
        the block. (On PostgreSQL the release's row lock orders it against a claimer as a
        renewal's would: a claimer waiting on it finds the task released.)
        """
        async with self.services.db.session() as session:
            yield session
            if not self._released:
                raise AssertionError("a run's finishing transaction must release its claim")

    async def confirm(self) -> None:
        """Prove the run still owns its task (and renew the lease) before a vendor write."""
        async with self.fenced():
            pass

    async def release_in(
        self,
        session: AsyncSession,
        *,
        status: TaskStatus,
        error: str | None,
        agreement_id: int | None = None,
    ) -> Row[Any]:
        """End the claim inside ``session`` (a :meth:`finishing` one, with the run's last
        write): the task's row as the release left it."""
        released = await task_store.release_task(
            session,
            self.tenant_id,
            self.task_id,
            token=self.token,
            status=status,
            error=error,
            now=self.services.now(),
            agreement_id=agreement_id,
        )
        if released is None:
            self.lost = True
            raise ClaimLost(self._lost_message())
        self._released = True
        return released

    async def _let_go(self, error: BaseException | None) -> None:
        """The exit path for a run that did not release its claim itself."""
        if self.run is None:
            async with self.services.db.session() as session:
                await task_store.unclaim_task(
                    session, self.tenant_id, self.task_id, token=self.token
                )
            return
        message = INTERRUPTED if error is None or not str(error) else f"{INTERRUPTED} ({error})"
        async with self.finishing() as session:
            if self.run.outcome == RunOutcome.RUNNING.value:
                await journal.finish_run(
                    session,
                    self.run.id,
                    outcome=RunOutcome.FAILED,
                    error=message,
                    now=self.services.now(),
                )
            await self.release_in(session, status=TaskStatus.FAILED, error=message)

    async def _beat(self) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.05)
        last_renewed = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(interval)
            try:
                await self.confirm()
                last_renewed = asyncio.get_running_loop().time()
            except ClaimLost:
                self._cancel_owner()
                return
            except Exception:  # noqa: BLE001 - a database hiccup; the lease has slack for it
                log.warning("could not renew the claim on task %s", self.task_id, exc_info=True)
                if asyncio.get_running_loop().time() - last_renewed > self.lease.total_seconds():
                    self.lost = True
                    self._cancel_owner()
                    return

    def _cancel_owner(self) -> None:
        log.warning("sync of task %s lost its claim; stopping before its next write", self.task_id)
        if self._owner is not None:
            self._owner.cancel()

    async def _stop_heartbeat(self) -> None:
        if self._heartbeat is None:
            return
        self._heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._heartbeat
        self._heartbeat = None

    def _lost_message(self) -> str:
        return (
            f"The sync of task {self.task_id} outlived its claim and another run took it over; "
            "this one stopped before writing again."
        )


def _refusal(task: SyncTask, now: dt.datetime) -> Conflict:
    """Why the task could not be claimed: synced, ignored, or another run holds it until when."""
    if task.status == TaskStatus.SYNCED.value:
        return Conflict(f"task {task.id} is already synced", code="TaskSynced")
    if task.status == TaskStatus.IGNORED.value:
        return Conflict(f"task {task.id} is ignored: un-ignore it first", code="TaskIgnored")
    until = task.claimed_until
    when = until.strftime("%H:%M:%S UTC") if until else "shortly"
    return Conflict(
        f"task {task.id} is being synced right now; if that sync has stopped, it can be tried "
        f"again after {when}",
        code="TaskBusy",
        details={"busyUntil": until.isoformat() if until else None, "now": now.isoformat()},
    )
