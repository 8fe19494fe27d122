"""A sync run's claim on its task, on SQLite and PostgreSQL: ownership by token, a heartbeat that
keeps it while the run lives, a run that lost it stopped, and a status on every way out."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
from sqlalchemy import update

from psasync.config import Settings
from psasync.services import Services
from psasync.services.claims import ClaimLost, TaskClaim
from psasync.services.errors import Conflict, Invalid
from psasync.store import Database, RunOutcome, SyncRun, SyncTask, TaskStatus, journal
from tests.integration.store.rows import add_tasks, add_tenant, reload_task, run_row, task_row

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
async def services(database: Database) -> Services:
    return Services(
        settings=Settings(database_url=database.url),
        db=database,
        http=httpx.AsyncClient(),
        secret_box=None,
        now=Clock(),
        sync_lease=dt.timedelta(seconds=0.6),
    )


async def new_task(services: Services) -> tuple[int, int]:
    tenant = await add_tenant(services.db)
    (task_id,) = await add_tasks(services.db, task_row(tenant))
    return tenant, task_id


async def stored(services: Services, task_id: int) -> SyncTask:
    async with services.db.session() as session:
        return await reload_task(session, task_id)


async def start_run(claim: TaskClaim) -> SyncRun:
    async with claim.fenced() as session:
        run = await journal.start_run(session, run_row(claim.tenant_id, claim.task_id), [])
    claim.run = run
    return run


async def test_a_claimed_task_is_busy_until_its_lease_lapses(services: Services) -> None:
    clock = services.now
    assert isinstance(clock, Clock)
    tenant, task_id = await new_task(services)
    first = TaskClaim(services, tenant_id=tenant, task_id=task_id)
    await first.__aenter__()
    try:
        with pytest.raises(Conflict) as busy:
            async with TaskClaim(services, tenant_id=tenant, task_id=task_id):
                pass
        assert busy.value.code == "TaskBusy"
        assert busy.value.details["busyUntil"] == (clock.now + services.sync_lease).isoformat()
        # The first run stalls past its lease (no heartbeat here: the clock jumped) ...
        clock.advance(60)
        async with TaskClaim(services, tenant_id=tenant, task_id=task_id) as second:
            # ... so a second run takes over, and the first can write nothing more.
            with pytest.raises(ClaimLost):
                await first.confirm()
            await second.confirm()
        assert first.lost
    finally:
        await first.__aexit__(None, None, None)
    assert (await stored(services, task_id)).claim_token is None


async def test_the_heartbeat_keeps_the_claim_while_the_run_waits(services: Services) -> None:
    services.now = lambda: dt.datetime.now(dt.UTC)
    tenant, task_id = await new_task(services)
    async with TaskClaim(services, tenant_id=tenant, task_id=task_id):
        for _ in range(4):  # four leases long, as a run waiting out a vendor's Retry-After
            await asyncio.sleep(services.sync_lease.total_seconds())
            with pytest.raises(Conflict) as busy:
                async with TaskClaim(services, tenant_id=tenant, task_id=task_id):
                    pass
            assert busy.value.code == "TaskBusy"


async def test_a_run_whose_claim_was_taken_is_stopped_before_its_next_write(
    services: Services,
) -> None:
    services.now = lambda: dt.datetime.now(dt.UTC)
    tenant, task_id = await new_task(services)
    wrote_after_the_wait = False
    with pytest.raises(ClaimLost):
        async with TaskClaim(services, tenant_id=tenant, task_id=task_id):
            async with services.db.session() as session:  # another run took the task over
                await session.execute(
                    update(SyncTask).where(SyncTask.id == task_id).values(claim_token="other")
                )
            await asyncio.sleep(10 * services.sync_lease.total_seconds())
            wrote_after_the_wait = True
    assert not wrote_after_the_wait
    assert (await stored(services, task_id)).claim_token == "other"


async def test_a_refusal_before_any_write_leaves_the_task_as_it_was(services: Services) -> None:
    tenant, task_id = await new_task(services)
    with pytest.raises(Invalid):
        async with TaskClaim(services, tenant_id=tenant, task_id=task_id):
            raise Invalid("SecretKeyChanged", code="SecretKeyChanged")
    task = await stored(services, task_id)
    assert (task.status, task.claim_token, task.claimed_until) == ("new", None, None)


async def test_a_run_that_stops_after_starting_fails_its_task_and_run_at_once(
    services: Services,
) -> None:
    tenant, task_id = await new_task(services)
    with pytest.raises(Invalid):
        async with TaskClaim(services, tenant_id=tenant, task_id=task_id) as claim:
            run = await start_run(claim)
            # e.g. the resumed run's ConnectWise client cannot be built
            raise Invalid("the secret key changed", code="SecretKeyChanged")
    task = await stored(services, task_id)
    assert (task.status, task.claim_token, task.claimed_until) == ("failed", None, None)
    assert task.error is not None and "interrupted" in task.error
    async with services.db.session() as session:
        again = await journal.get_run(session, tenant, run.id)
        assert again is not None and again.outcome == RunOutcome.FAILED.value
    # ... and a retry may claim it at once, without waiting for the lease.
    async with TaskClaim(services, tenant_id=tenant, task_id=task_id):
        pass


async def test_a_run_that_released_itself_is_not_released_again(services: Services) -> None:
    tenant, task_id = await new_task(services)
    async with TaskClaim(services, tenant_id=tenant, task_id=task_id) as claim:
        await start_run(claim)
        async with claim.fenced() as session:
            await claim.release_in(session, status=TaskStatus.SYNCED, error=None, agreement_id=9)
    task = await stored(services, task_id)
    assert (task.status, task.agreement_id, task.claim_token) == ("synced", 9, None)


async def test_a_run_that_lost_its_claim_keeps_none_of_its_finishing_writes(
    services: Services,
) -> None:
    tenant, task_id = await new_task(services)
    with pytest.raises(ClaimLost):
        async with TaskClaim(services, tenant_id=tenant, task_id=task_id) as claim:
            run = await start_run(claim)
            async with services.db.session() as session:  # another run took the task over
                await session.execute(
                    update(SyncTask).where(SyncTask.id == task_id).values(claim_token="other")
                )
            # The finishing transaction has no renewal: its release is the fence.
            async with claim.finishing() as session:
                await journal.finish_run(
                    session, run.id, outcome=RunOutcome.SUCCEEDED, error=None, now=services.now()
                )
                await claim.release_in(
                    session, status=TaskStatus.SYNCED, error=None, agreement_id=9
                )
    async with services.db.session() as session:
        again = await journal.get_run(session, tenant, run.id)
        assert again is not None and again.outcome == RunOutcome.RUNNING.value
    task = await stored(services, task_id)
    assert (task.status, task.claim_token) == ("new", "other")
