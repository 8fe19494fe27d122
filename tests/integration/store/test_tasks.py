"""Synchronization tasks: one per order and tenant, listed, found and claimed per tenant."""

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from psasync.store import Database, MappingSource, SyncTask, TaskFilter, TaskStatus
from psasync.store import tasks as store
from psasync.store import tenants as tenant_store
from psasync.store.snapshots import (
    order_from_json,
    order_to_json,
    subscription_from_json,
    subscription_to_json,
)
from tests.integration.store.rows import NOW, add_tasks, add_tenant, at, reload_task, task_row
from tests.unit.domain.builders import BACKUP, E3, line, order, subscription

pytestmark = pytest.mark.anyio

LEASE_END = at(5)


# Uniqueness -----------------------------------------------------------------------------------


async def test_an_order_becomes_one_task_per_tenant(database: Database) -> None:
    tenant = await add_tenant(database)
    await add_tasks(database, task_row(tenant, "ORD-1"))
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            await store.add_tasks(session, [task_row(tenant, "ORD-1", number="SO-AGAIN")])
    async with database.session() as session:
        _, total = await store.list_tasks(session, tenant, TaskFilter())
        assert total == 1


async def test_two_tenants_may_hold_the_same_order_id(database: Database) -> None:
    mine, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    async with database.session() as session:
        await store.add_tasks(session, [task_row(mine, "ORD-1"), task_row(other, "ORD-1")])
    async with database.session() as session:
        assert await store.existing_order_ids(session, mine, ["ORD-1", "ORD-2"]) == {"ORD-1"}
        assert await store.existing_order_ids(session, other, ["ORD-1"]) == {"ORD-1"}


async def test_existing_order_ids_are_the_tenants_own(database: Database) -> None:
    mine, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    await add_tasks(database, task_row(mine, "A"), task_row(mine, "B"), task_row(other, "C"))
    asked = [f"X{n}" for n in range(1100)] + ["B", "C", "A", "B"]  # more than one chunk
    async with database.session() as session:
        assert await store.existing_order_ids(session, mine, asked) == {"A", "B"}
        assert await store.existing_order_ids(session, mine, []) == set()


async def test_the_snapshots_of_a_task_read_back_equal(database: Database) -> None:
    tenant = await add_tenant(database)
    placed = order(lines=(line(price="30.00", cost="0.1000000000000000000000000001"),))
    held = subscription((E3, "5"), (BACKUP, "12.5"))
    row = task_row(tenant, placed.id)
    row.order_json, row.subscription_json = order_to_json(placed), subscription_to_json(held)
    (task_id,) = await add_tasks(database, row)
    async with database.session() as session:
        stored = await store.get_task(session, tenant, task_id)
        assert stored is not None and stored.subscription_json is not None
        assert order_from_json(stored.order_json) == placed
        assert stored.order_json == order_to_json(placed)
        assert subscription_from_json(stored.subscription_json) == held


# get_task -------------------------------------------------------------------------------------


async def test_a_task_is_found_only_by_its_tenant(database: Database) -> None:
    mine, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    (task_id,) = await add_tasks(database, task_row(mine, "ORD-1"))
    async with database.session() as session:
        found = await store.get_task(session, mine, task_id)
        assert found is not None and found.order_id == "ORD-1"
        assert found.status == TaskStatus.NEW.value
        assert await store.get_task(session, other, task_id) is None
        assert await store.get_task(session, mine, task_id + 1000) is None


async def test_a_task_is_read_with_its_tenants_mapping_of_its_customer(database: Database) -> None:
    mine, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    (task_id,) = await add_tasks(database, task_row(mine, "ORD-1", customer_id="C1"))

    async def read() -> tuple[str, int | None] | None:
        async with database.read() as session:
            found = await store.get_task_with_mapping(session, mine, task_id)
            assert await store.get_task_with_mapping(session, other, task_id) is None
        if found is None:
            return None
        task, mapping = found
        return task.order_id, mapping.company_id if mapping else None

    async def map_customer(tenant: int, customer_id: str, company_id: int) -> None:
        async with database.session() as session:
            await tenant_store.map_customer(
                session, tenant, customer_id=customer_id, company_id=company_id,
                company_name=None, source=MappingSource.MANUAL, by="anna", now=NOW,
            )  # fmt: skip

    assert await read() == ("ORD-1", None)
    # Another tenant's mapping of the same customer id, and this tenant's of another customer,
    # are not this task's.
    await map_customer(other, "C1", 900)
    await map_customer(mine, "C2", 901)
    assert await read() == ("ORD-1", None)
    await map_customer(mine, "C1", 250)
    assert await read() == ("ORD-1", 250)


# list_tasks -----------------------------------------------------------------------------------


async def _listed(database: Database, tenant: int, wanted: TaskFilter) -> tuple[list[str], int]:
    async with database.session() as session:
        page, total = await store.list_tasks(session, tenant, wanted)
        return [task.order_id for task in page], total


@pytest.fixture
async def listed_tenant(database: Database) -> int:
    """A tenant with six tasks (O1 oldest .. O6 newest) and another tenant with one."""
    mine, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    await add_tasks(
        database,
        task_row(mine, "O3", number="SO000103", customer_name="Green Lane LLC",
                 customer_id="1000048531", created=at(3)),
        task_row(mine, "O1", number="SO000101", customer_name="100% Cloud Ltd",
                 customer_id="1000011111", created=at(1), status=TaskStatus.SYNCED),
        task_row(mine, "O2", number="CO000102", order_type="change", customer_name="100 Cloud",
                 customer_id="1000022222", created=at(2), status=TaskStatus.FAILED),
        task_row(mine, "O5", number="BO000105", order_type="billing", customer_name="A_B Ltd",
                 customer_id="1000048532", created=at(5)),
        task_row(mine, "O4", number="CO000104", order_type="change", customer_name="AxB Ltd",
                 customer_id="1000033333", created=at(4), status=TaskStatus.IGNORED),
        task_row(mine, "O6", number="SO000106", customer_name="MÜLLER Systemhaus",
                 customer_id="1000044444", created=at(6)),
        task_row(other, "X1", number="SO000101", customer_name="Green Lane LLC",
                 customer_id="1000048531", created=at(7)),
    )  # fmt: skip
    return mine


async def test_all_tasks_newest_first(database: Database, listed_tenant: int) -> None:
    assert await _listed(database, listed_tenant, TaskFilter()) == (
        ["O6", "O5", "O4", "O3", "O2", "O1"],
        6,
    )


async def test_tasks_created_at_the_same_moment_list_the_latest_added_first(
    database: Database,
) -> None:
    tenant = await add_tenant(database)
    await add_tasks(database, task_row(tenant, "FIRST"), task_row(tenant, "SECOND"))
    assert await _listed(database, tenant, TaskFilter()) == (["SECOND", "FIRST"], 2)


FILTERS = [
    (TaskFilter(status=TaskStatus.NEW), ["O6", "O5", "O3"]),
    (TaskFilter(status=TaskStatus.SYNCED), ["O1"]),
    (TaskFilter(status=TaskStatus.FAILED), ["O2"]),
    (TaskFilter(status=TaskStatus.IGNORED), ["O4"]),
    (TaskFilter(order_type="change"), ["O4", "O2"]),
    (TaskFilter(order_type="renewal"), []),
    (TaskFilter(status=TaskStatus.NEW, order_type="sales"), ["O6", "O3"]),
    (TaskFilter(status=TaskStatus.NEW, order_type="change"), []),
    (TaskFilter(status=TaskStatus.NEW, query="ltd"), ["O5"]),
]

SEARCHES = [
    ("green", ["O3"]),  # customer name, any case
    ("  GREEN lane ", ["O3"]),  # surrounding blanks do not count
    ("10000485", ["O5", "O3"]),  # customer id
    ("so0001", ["O6", "O3", "O1"]),  # order number, any case
    ("co000102", ["O2"]),
    ("100%", ["O1"]),  # % is a percent sign, not a wildcard
    ("100% cloud", ["O1"]),
    ("%", ["O1"]),
    ("a_b", ["O5"]),  # _ is an underscore, not any one character
    ("_", ["O5"]),
    ("ltd", ["O5", "O4", "O1"]),
    ("\\", []),  # a backslash is a character like any other
    ("müller", ["O6"]),  # beyond ASCII too
    ("MÜLLER", ["O6"]),
    ("nobody", []),
    ("", ["O6", "O5", "O4", "O3", "O2", "O1"]),  # empty: no filter
]

PAGES = [
    ((2, 0), ["O6", "O5"]),
    ((2, 2), ["O4", "O3"]),
    ((2, 4), ["O2", "O1"]),
    ((4, 4), ["O2", "O1"]),
    ((2, 6), []),
    ((50, 0), ["O6", "O5", "O4", "O3", "O2", "O1"]),
]


async def test_tasks_filtered_by_status_and_type(database: Database, listed_tenant: int) -> None:
    # One database for all the cases: each test's fresh database is what costs time.
    for wanted, expected in FILTERS:
        found = await _listed(database, listed_tenant, wanted)
        assert found == (expected, len(expected)), wanted


async def test_tasks_searched_by_customer_and_order_number(
    database: Database, listed_tenant: int
) -> None:
    for query, expected in SEARCHES:
        found = await _listed(database, listed_tenant, TaskFilter(query=query))
        assert found == (expected, len(expected)), f"query {query!r}"


async def test_a_backslash_in_a_name_is_found_literally(database: Database) -> None:
    tenant = await add_tenant(database)
    await add_tasks(
        database,
        task_row(tenant, "A", customer_name="Back\\slash Inc"),
        task_row(tenant, "B", customer_name="Backslash Inc"),
    )
    assert await _listed(database, tenant, TaskFilter(query="k\\s")) == (["A"], 1)


async def test_tasks_come_in_pages_with_the_full_total(
    database: Database, listed_tenant: int
) -> None:
    for (limit, offset), expected in PAGES:
        found = await _listed(database, listed_tenant, TaskFilter(limit=limit, offset=offset))
        assert found == (expected, 6), (limit, offset)
    wanted = TaskFilter(query="so0001", limit=1, offset=1)
    assert await _listed(database, listed_tenant, wanted) == (["O3"], 3)


# Claims ---------------------------------------------------------------------------------------


TOKEN = "run-a"


async def _claim(
    database: Database, tenant: int, task_id: int, *, minute: int, token: str = TOKEN
) -> bool:
    async with database.session() as session:
        return await store.claim_task(
            session, tenant, task_id, token=token, now=at(minute), until=LEASE_END
        )


async def test_a_claim_holds_the_task_until_the_lease_ends(database: Database) -> None:
    tenant = await add_tenant(database)
    (task_id,) = await add_tasks(database, task_row(tenant))
    assert await _claim(database, tenant, task_id, minute=0)
    async with database.session() as session:
        assert (await reload_task(session, task_id)).claimed_until == LEASE_END
    assert not await _claim(database, tenant, task_id, minute=1)
    assert not await _claim(database, tenant, task_id, minute=4)
    # A sync that crashed lets go once its lease has passed.
    async with database.session() as session:
        assert await store.claim_task(
            session, tenant, task_id, token="run-b", now=at(6), until=at(11)
        )
    async with database.session() as session:
        stored = await reload_task(session, task_id)
        assert (stored.claim_token, stored.claimed_until) == ("run-b", at(11))
        assert stored.status == TaskStatus.NEW.value


async def test_only_the_claims_owner_can_renew_release_or_unclaim_it(database: Database) -> None:
    tenant = await add_tenant(database)
    (task_id,) = await add_tasks(database, task_row(tenant))
    assert await _claim(database, tenant, task_id, minute=0)
    async with database.session() as session:
        assert await store.renew_claim(session, tenant, task_id, token=TOKEN, until=at(9))
    # The owner stalled past its lease and another run took the task over.
    assert await _claim(database, tenant, task_id, minute=10, token="run-b")
    async with database.session() as session:
        assert not await store.renew_claim(session, tenant, task_id, token=TOKEN, until=at(20))
        assert not await store.release_task(
            session, tenant, task_id, token=TOKEN, status=TaskStatus.SYNCED, error=None,
            now=at(11),
        )  # fmt: skip
        await store.unclaim_task(session, tenant, task_id, token=TOKEN)
    async with database.session() as session:
        stored = await reload_task(session, task_id)
        assert (stored.claim_token, stored.claimed_until) == ("run-b", LEASE_END)
        assert stored.status == TaskStatus.NEW.value


@pytest.mark.parametrize(
    ("status", "claimable"),
    [
        (TaskStatus.NEW, True),
        (TaskStatus.FAILED, True),
        (TaskStatus.SYNCED, False),
        (TaskStatus.IGNORED, False),
    ],
)
async def test_only_new_or_failed_tasks_can_be_claimed(
    database: Database, status: TaskStatus, claimable: bool
) -> None:
    tenant = await add_tenant(database)
    (task_id,) = await add_tasks(database, task_row(tenant, status=status))
    assert await _claim(database, tenant, task_id, minute=0) is claimable
    async with database.session() as session:
        stored = await reload_task(session, task_id)
        assert stored.claimed_until == (LEASE_END if claimable else None)
        assert stored.status == status.value


async def test_another_tenants_task_cannot_be_claimed(database: Database) -> None:
    mine, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    (task_id,) = await add_tasks(database, task_row(mine))
    assert not await _claim(database, other, task_id, minute=0)
    assert not await _claim(database, mine, task_id + 1000, minute=0)
    assert await _claim(database, mine, task_id, minute=0)


async def test_a_released_sync_leaves_the_task_synced(database: Database) -> None:
    tenant = await add_tenant(database)
    (task_id,) = await add_tasks(database, task_row(tenant))
    assert await _claim(database, tenant, task_id, minute=0)
    async with database.session() as session:
        released = await store.release_task(
            session, tenant, task_id, token=TOKEN, status=TaskStatus.SYNCED, error=None,
            now=at(2), agreement_id=501,
        )  # fmt: skip
    async with database.session() as session:
        stored = await reload_task(session, task_id)
        assert stored.status == TaskStatus.SYNCED.value
        assert stored.claimed_until is None
        assert (stored.synced_at, stored.updated_at, stored.agreement_id) == (at(2), at(2), 501)
        assert stored.error is None
    # The release answers the task's row as it left it, typed as a read would give it.
    assert released is not None
    assert dict(released._mapping) == {
        column.name: getattr(stored, column.name) for column in SyncTask.__table__.columns
    }
    assert not await _claim(database, tenant, task_id, minute=3)


async def test_a_failed_sync_leaves_the_error_and_may_be_tried_again(database: Database) -> None:
    tenant = await add_tenant(database)
    (task_id,) = await add_tasks(database, task_row(tenant))
    assert await _claim(database, tenant, task_id, minute=0)
    async with database.session() as session:
        await store.release_task(
            session, tenant, task_id, token=TOKEN, status=TaskStatus.FAILED,
            error="agreement 501 is closed", now=at(1), agreement_id=501,
        )  # fmt: skip
    async with database.session() as session:
        stored = await reload_task(session, task_id)
        assert (stored.status, stored.error) == (TaskStatus.FAILED.value, "agreement 501 is closed")
        assert stored.claimed_until is None
        assert stored.synced_at is None and stored.agreement_id is None
    # Within the old lease, but released: a retry may claim it at once.
    assert await _claim(database, tenant, task_id, minute=2)


async def test_an_unclaimed_task_keeps_its_status_and_is_free_again(database: Database) -> None:
    tenant = await add_tenant(database)
    (task_id,) = await add_tasks(database, task_row(tenant, status=TaskStatus.FAILED))
    assert await _claim(database, tenant, task_id, minute=0)
    async with database.session() as session:
        await store.unclaim_task(session, tenant, task_id, token=TOKEN)
    async with database.session() as session:
        stored = await reload_task(session, task_id)
        assert (stored.status, stored.claimed_until) == (TaskStatus.FAILED.value, None)
    assert await _claim(database, tenant, task_id, minute=1)


async def test_another_tenant_cannot_release_or_unclaim_a_task(database: Database) -> None:
    mine, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    (task_id,) = await add_tasks(database, task_row(mine))
    assert await _claim(database, mine, task_id, minute=0)
    async with database.session() as session:
        await store.unclaim_task(session, other, task_id, token=TOKEN)
        await store.release_task(
            session, other, task_id, token=TOKEN, status=TaskStatus.SYNCED, error=None, now=at(1)
        )
    async with database.session() as session:
        stored = await reload_task(session, task_id)
        assert (stored.status, stored.claimed_until) == (TaskStatus.NEW.value, LEASE_END)


async def test_ignoring_and_unignoring_a_task(database: Database) -> None:
    tenant = await add_tenant(database)
    (task_id,) = await add_tasks(database, task_row(tenant, status=TaskStatus.FAILED))
    async with database.session() as session:
        task = await store.get_task(session, tenant, task_id)
        assert task is not None
        await store.set_ignored(session, task, ignored=True, now=at(1))
    assert not await _claim(database, tenant, task_id, minute=2)
    async with database.session() as session:
        task = await store.get_task(session, tenant, task_id)
        assert task is not None
        assert (task.status, task.updated_at) == (TaskStatus.IGNORED.value, at(1))
        await store.set_ignored(session, task, ignored=False, now=at(3))
    async with database.session() as session:
        assert (await reload_task(session, task_id)).status == TaskStatus.NEW.value
    assert await _claim(database, tenant, task_id, minute=4)
    assert NOW < LEASE_END


# The stored search text ------------------------------------------------------------------------


async def test_the_search_text_is_written_however_the_task_is_added(database: Database) -> None:
    tenant = await add_tenant(database)
    (orm_id,) = await add_tasks(
        database, task_row(tenant, "A", number="SO1", customer_name="Straße AG", customer_id="77")
    )
    async with database.session() as session:
        (stored,) = await store.add_tasks(
            session, [task_row(tenant, "B", number="CH2", customer_name="ÅSA", customer_id="88")]
        )
    async with database.session() as session:
        first = await reload_task(session, orm_id)
        second = await reload_task(session, stored.id)
    assert first.search_text == "so1\x1fstrasse ag\x1f77"
    assert second.search_text == "ch2\x1fåsa\x1f88"


async def test_a_search_ignores_case_beyond_ascii(database: Database) -> None:
    tenant = await add_tenant(database)
    await add_tasks(
        database,
        task_row(tenant, "A", customer_name="STRASSE Holding", created=at(1)),
        task_row(tenant, "B", customer_name="Ørsted Müller", created=at(2)),
    )
    assert await _listed(database, tenant, TaskFilter(query="straße")) == (["A"], 1)
    assert await _listed(database, tenant, TaskFilter(query="ØRSTED MÜL")) == (["B"], 1)


async def test_a_search_never_matches_across_two_fields(database: Database) -> None:
    tenant = await add_tenant(database)
    await add_tasks(
        database, task_row(tenant, "A", number="SO9", customer_name="Acme", customer_id="123")
    )
    for query in ("so9acme", "acme123", "so9\x1facme", "9\x1fa"):
        assert await _listed(database, tenant, TaskFilter(query=query)) == ([], 0), query
    assert await _listed(database, tenant, TaskFilter(query=" acme ")) == (["A"], 1)


async def test_a_searched_page_counts_every_match(database: Database) -> None:
    tenant, other = await add_tenant(database, "1"), await add_tenant(database, "2")
    rows = [
        task_row(tenant, f"T{n}", customer_name=f"Match {n}", created=at(n)) for n in range(1, 8)
    ]
    await add_tasks(database, *rows, task_row(other, "X", customer_name="Match elsewhere"))
    wanted = TaskFilter(query="match", limit=3, offset=3)
    assert await _listed(database, tenant, wanted) == (["T4", "T3", "T2"], 7)
    beyond = TaskFilter(query="match", limit=3, offset=30)
    assert await _listed(database, tenant, beyond) == ([], 7)


# The search index ------------------------------------------------------------------------------

NAMES = [
    'Say "Hello" GmbH',
    "A*B Partners",
    "Smith AND Sons",
    "NEAR(co) Ltd",
    "Café Crème",
    "Straße 9",
    "x^y: {z} -w",
    "Grün & Blau",
]
NEEDLES = [
    '"hello"', '"', "a*b", "a*", "and", "smith and", "near(co", "café", "crème", "strasse",
    "e 9", "^y:", "{z} -", "& b", "grün", "gmbh", "ltd", "zz", "9", "é", "nope",
    "ab\x00cd", "\x00\x00\x00", "a\x00",
]  # fmt: skip


@pytest.mark.parametrize("few", [store.FEW_MATCHES, 0], ids=["read-by-id", "index-walk"])
async def test_a_search_matches_exactly_the_tasks_holding_the_text(
    database: Database, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    """Whatever the index (trigram table, covering scan, pg_trgm) and the way the page is read,
    a search finds the tasks whose number, name or customer id holds the query, casefolded;
    query syntax is plain text, and another tenant's tasks (tenant 12 beside 1) never match."""
    monkeypatch.setattr(store, "FEW_MATCHES", few)
    tenant = await add_tenant(database, "1")
    others = [await add_tenant(database, str(n)) for n in range(2, 13)]
    rows = [
        task_row(tenant, f"T{n}", customer_name=name, customer_id=f"{n}00", created=at(n))
        for n, name in enumerate(NAMES, start=1)
    ]
    theirs = [task_row(other, f"X{n}", customer_name=n) for n in NAMES for other in others[-2:]]
    await add_tasks(database, *rows, *theirs)
    # PostgreSQL cannot hold NUL at all (the web layer refuses it first: web.bounds); SQLite's
    # trigram table cannot read it, so such a search scans instead of failing.
    needles = [n for n in NEEDLES if database.is_sqlite or "\x00" not in n]
    for needle in needles:
        folded = needle.casefold()
        expected = [
            f"T{n}"
            for n, name in reversed(list(enumerate(NAMES, start=1)))
            if any(folded in field.casefold() for field in (f"SO-T{n}", name, f"{n}00"))
        ]
        assert await _listed(database, tenant, TaskFilter(query=needle)) == (
            expected,
            len(expected),
        ), needle
        second = TaskFilter(query=needle, limit=2, offset=2)
        assert await _listed(database, tenant, second) == (expected[2:4], len(expected)), needle


async def test_the_search_follows_tasks_changed_and_deleted(database: Database) -> None:
    tenant = await add_tenant(database)
    first, second = await add_tasks(
        database,
        task_row(tenant, "A", customer_name="Northwind Traders", created=at(1)),
        task_row(tenant, "B", customer_name="Northwind Health", created=at(2)),
    )
    async with database.session() as session:
        changed = await reload_task(session, first)
        changed.search_text = store.search_text("SO-A", "Contoso Traders", "1000048531")
        await session.delete(await reload_task(session, second))
    assert await _listed(database, tenant, TaskFilter(query="northwind")) == ([], 0)
    assert await _listed(database, tenant, TaskFilter(query="contoso")) == (["A"], 1)


async def _plans(database: Database, tenant: int, wanted: TaskFilter) -> list[list[str]]:
    """The query plan of each statement a listing runs."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        statements.append((statement, parameters))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await _listed(database, tenant, wanted)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    plans = []
    async with database.engine.connect() as connection:
        for statement, parameters in statements:
            plan = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.append([row[-1] for row in plan])
    return plans


@pytest.mark.parametrize("needle", ["wind", "wi"], ids=["trigrams", "too-short"])
@pytest.mark.parametrize("few", [store.FEW_MATCHES, 0], ids=["read-by-id", "index-walk"])
async def test_a_search_on_sqlite_reads_an_index_not_every_task(
    database: Database, monkeypatch: pytest.MonkeyPatch, few: int, needle: str
) -> None:
    if not database.is_sqlite:
        pytest.skip("the trigram table is SQLite's; PostgreSQL searches its pg_trgm index")
    monkeypatch.setattr(store, "FEW_MATCHES", few)
    tenant = await add_tenant(database)
    await add_tasks(database, task_row(tenant, "A", customer_name="Northwind Traders"))
    count, page = await _plans(database, tenant, TaskFilter(query=needle, limit=5))
    # The count reads an index alone: the trigram table, or the tenant's search-text entries.
    if len(needle) >= store.TRIGRAM:
        assert any("sync_tasks_search VIRTUAL TABLE" in step for step in count), count
        assert not any(" sync_tasks " in f"{step} " for step in count), count
    else:
        assert count == [
            "SEARCH sync_tasks_1 USING COVERING INDEX ix_sync_tasks_tenant_search (tenant_id=?)"
        ], count
    if few:  # few matches: read by id, no walk over the tenant's tasks
        assert any("INTEGER PRIMARY KEY (rowid=?)" in step for step in page), page
        assert not any("ix_sync_tasks_tenant_created" in step for step in page), page
    else:  # many: along the tenant's order dates, the page's order, no sort of every match
        assert page[0].startswith("SEARCH sync_tasks USING INDEX ix_sync_tasks_tenant_created")
        assert not any("TEMP B-TREE FOR ORDER BY" in step for step in page), page
