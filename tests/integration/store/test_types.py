"""Instants come back aware in UTC and money comes back exact, on SQLite and PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from psasync.store import Database, SyncRun, SyncTask, Tenant
from tests.integration.store.rows import NOW, add_tasks, add_tenant, run_row, task_row

pytestmark = pytest.mark.anyio

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
PST = dt.timezone(dt.timedelta(hours=-8))


async def _store_login(database: Database, instant: dt.datetime) -> dt.datetime | None:
    tenant_id = await add_tenant(database)
    async with database.session() as session:
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.last_login_at = instant
    async with database.session() as session:
        return await session.scalar(select(Tenant.last_login_at).where(Tenant.id == tenant_id))


@pytest.mark.parametrize(
    "instant",
    [
        dt.datetime(2026, 11, 24, 9, 30, 15, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC),
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    ],
)
async def test_a_utc_instant_round_trips_aware(database: Database, instant: dt.datetime) -> None:
    read = await _store_login(database, instant)
    assert read == instant
    assert read is not None and read.tzinfo is dt.UTC


@pytest.mark.parametrize(
    ("instant", "in_utc"),
    [
        (
            dt.datetime(2026, 11, 24, 3, 0, tzinfo=IST),
            dt.datetime(2026, 11, 23, 21, 30, tzinfo=dt.UTC),
        ),
        (
            dt.datetime(2026, 12, 31, 20, 0, 1, tzinfo=PST),
            dt.datetime(2027, 1, 1, 4, 0, 1, tzinfo=dt.UTC),
        ),
    ],
)
async def test_an_instant_with_another_offset_is_stored_in_utc(
    database: Database, instant: dt.datetime, in_utc: dt.datetime
) -> None:
    read = await _store_login(database, instant)
    assert read == in_utc
    assert read is not None and read.tzinfo is dt.UTC


async def test_a_naive_instant_is_refused(database: Database) -> None:
    tenant_id = await add_tenant(database)
    with pytest.raises(StatementError) as refused:
        async with database.session() as session:
            tenant = await session.get(Tenant, tenant_id)
            assert tenant is not None
            tenant.last_login_at = dt.datetime(2026, 11, 24, 9, 30)  # noqa: DTZ001 - on purpose
    assert isinstance(refused.value.orig, ValueError)
    assert "has no time zone" in str(refused.value.orig)
    async with database.session() as session:
        assert await session.scalar(select(Tenant.last_login_at)) == NOW


async def test_instants_sort_by_the_moment_not_by_the_offset(database: Database) -> None:
    # 10:00 in Los Angeles comes after 20:00 in Mumbai on the same day.
    tenant_id = await add_tenant(database)
    mumbai = dt.datetime(2026, 11, 24, 20, 0, tzinfo=IST)
    los_angeles = dt.datetime(2026, 11, 24, 10, 0, tzinfo=PST)
    await add_tasks(
        database,
        task_row(tenant_id, "LATE", created=los_angeles),
        task_row(tenant_id, "EARLY", created=mumbai),
    )
    async with database.session() as session:
        ordered = await session.scalars(
            select(SyncTask.order_id).order_by(SyncTask.order_created_at)
        )
        assert list(ordered) == ["EARLY", "LATE"]


AMOUNTS = [
    Decimal("0.1") + Decimal("0.2"),
    Decimal("30.00"),
    Decimal("-12.5"),
    Decimal("0E-2"),
    Decimal("1234567890123456789012345678"),
    Decimal("0.1234567890123456789012345678"),
    Decimal("-9999999999999999999999999999.99"),
    Decimal("1E+30"),
]


async def test_decimals_come_back_exactly_as_written(database: Database) -> None:
    tenant_id = await add_tenant(database)
    (task_id,) = await add_tasks(database, task_row(tenant_id))
    async with database.session() as session:
        for amount in AMOUNTS:
            run = run_row(tenant_id, task_id)
            run.prorated_amount = amount
            run.recurring_before = -amount
            session.add(run)
    async with database.session() as session:
        rows = (
            await session.execute(
                select(SyncRun.prorated_amount, SyncRun.recurring_before).order_by(SyncRun.id)
            )
        ).all()
    assert [amount for amount, _ in rows] == AMOUNTS
    # Not only equal: the same digits, so 30.00 is still shown as 30.00.
    assert [str(amount) for amount, _ in rows] == [str(amount) for amount in AMOUNTS]
    assert [before for _, before in rows] == [-amount for amount in AMOUNTS]
    assert all(isinstance(amount, Decimal) for amount, _ in rows)
    assert rows[0][0] == Decimal("0.3")


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), 0.1])
async def test_a_value_that_is_no_finite_decimal_is_refused(
    database: Database, amount: object
) -> None:
    tenant_id = await add_tenant(database)
    (task_id,) = await add_tasks(database, task_row(tenant_id))
    with pytest.raises(StatementError) as refused:
        async with database.session() as session:
            run = run_row(tenant_id, task_id)
            run.prorated_amount = amount  # type: ignore[assignment]
            session.add(run)
    assert "is not a finite Decimal" in str(refused.value.orig)
