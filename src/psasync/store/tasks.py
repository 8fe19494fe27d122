"""Synchronization tasks: one per marketplace order, unique per tenant.

The task list's search (``q``) matches a substring of the order number, the customer name or
the customer id, ignoring case. Each task stores those three casefolded in ``search_text``
(written when it is added) and the search reads an index of it, never the whole table:

- PostgreSQL: ``search_text LIKE '%q%'`` on a pg_trgm GIN index (migration 0006 creates it when
  the extension can be installed; else the index is a B-tree and the same query scans).
- SQLite, three characters or more: the FTS5 trigram table ``sync_tasks_search`` (migration
  0011, kept by triggers) holds each task's search text and its tenant as ``~<id>~``; one
  query for both counts the tenant's matches from the index alone. The page is then read by
  id when the matches are few, else along the tenant's order-date index, stopping at the page.
  Case-sensitive trigrams over casefolded text, and the query as one FTS string: exactly the
  substring rule.
- SQLite, one or two characters (no trigram to look up): ``instr(search_text, q)`` over the
  tenant-first index ``(tenant_id, search_text, order_created_at)``: a covering scan of the
  tenant's entries, never the table with its order snapshots. The page is read as above.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    bindparam,
    column,
    event,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from psasync.store.models import TASK_SEARCH_TABLE, CustomerMapping, SyncTask, TaskStatus
from psasync.store.tenants import _chunks

# Between the fields of ``search_text``, so that a search never matches across two of them.
SEPARATOR = "\x1f"
# The trigram table (SQLite): a query shorter than a trigram has nothing to look up in it.
TRIGRAM = 3
# FTS5 reads its query as a C string: one holding NUL is searched by scanning instead.
NUL = "\x00"
# Up to this many matches a search page reads them by id and sorts them; above, it walks the
# tenant's order-date index until the page is full (dense matches fill it early).
FEW_MATCHES = 500
_search = table(TASK_SEARCH_TABLE, column("rowid"))

# The statements of a sync run's claim, run several times a task, built once with their values
# as parameters: SQLAlchemy then finds their compiled form without building the statement and
# its cache key anew on every call (a third of a statement's CPU). Plain Core statements: the
# ORM's bulk-update path added nothing to these (they never touch loaded objects).
_tasks = cast(Table, SyncTask.__table__)
_CLAIMED_BY = (
    _tasks.c.tenant_id == bindparam("tenant"),
    _tasks.c.id == bindparam("task"),
    _tasks.c.claim_token == bindparam("token"),
)
_GET_TASK = select(SyncTask).where(
    SyncTask.tenant_id == bindparam("tenant"), SyncTask.id == bindparam("task")
)
_GET_TASK_WITH_MAPPING = _GET_TASK.add_columns(CustomerMapping).outerjoin(
    CustomerMapping,
    (CustomerMapping.tenant_id == SyncTask.tenant_id)
    & (CustomerMapping.customer_id == SyncTask.customer_id),
)
_CLAIM = (
    update(_tasks)
    .where(
        _tasks.c.tenant_id == bindparam("tenant"),
        _tasks.c.id == bindparam("task"),
        _tasks.c.status.in_([TaskStatus.NEW.value, TaskStatus.FAILED.value]),
        or_(_tasks.c.claimed_until.is_(None), _tasks.c.claimed_until < bindparam("now")),
    )
    .values(claim_token=bindparam("new_token"), claimed_until=bindparam("until"))
)
_RENEW = update(_tasks).where(*_CLAIMED_BY).values(claimed_until=bindparam("until"))
_RELEASE_FIELDS: dict[str, Any] = {
    "claim_token": None,
    "claimed_until": None,
    "status": bindparam("new_status"),
    "error": bindparam("new_error"),
    "updated_at": bindparam("now"),
}
# The released task comes back whole: the run reports it as it now stands, without reading it.
_RELEASE = update(_tasks).where(*_CLAIMED_BY).values(**_RELEASE_FIELDS).returning(*_tasks.c)
_RELEASE_SYNCED = (
    update(_tasks)
    .where(*_CLAIMED_BY)
    .values(**_RELEASE_FIELDS, synced_at=bindparam("now"), agreement_id=bindparam("new_agreement"))
    .returning(*_tasks.c)
)
_UNCLAIM = update(_tasks).where(*_CLAIMED_BY).values(claim_token=None, claimed_until=None)
_KEEP_SUBSCRIPTION = (
    update(_tasks)
    .where(_tasks.c.tenant_id == bindparam("tenant"), _tasks.c.id == bindparam("task"))
    .values(subscription_json=bindparam("subscription"))
)


def tenant_text(tenant_id: int) -> str:
    """The tenant as the trigram table holds it (migration 0011): a phrase no id is part of."""
    return f"~{tenant_id}~"


def search_text(order_number: str, customer_name: str, customer_id: str) -> str:
    """What ``q`` is looked for in: the three fields casefolded, apart."""
    return SEPARATOR.join(part.casefold() for part in (order_number, customer_name, customer_id))


def _search_text_of(task: SyncTask) -> str:
    return search_text(task.order_number, task.customer_name, task.customer_id)


@event.listens_for(SyncTask, "before_insert")
def _fill_search_text(_mapper: Any, _connection: Any, task: SyncTask) -> None:
    task.search_text = _search_text_of(task)


@dataclass(frozen=True)
class TaskFilter:
    """What the task list shows: ``query`` matches customer name or id, or order number."""

    status: TaskStatus | None = None
    order_type: str | None = None
    query: str | None = None
    limit: int = 50
    offset: int = 0


async def existing_order_ids(
    session: AsyncSession, tenant_id: int, order_ids: Iterable[str]
) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(order_ids))):
        rows = await session.scalars(
            select(SyncTask.order_id).where(
                SyncTask.tenant_id == tenant_id, SyncTask.order_id.in_(chunk)
            )
        )
        found.update(rows)
    return found


async def add_tasks(session: AsyncSession, tasks: Sequence[SyncTask]) -> list[SyncTask]:
    """Insert the tasks in one batch and return them as stored, in the order given.

    One executemany, then the rows read back by order id: the ORM would insert row by row on
    SQLite to learn each new id, which makes a large Check Changes slow.
    """
    if not tasks:
        return []
    for task in tasks:
        task.search_text = _search_text_of(task)
    columns = [column for column in SyncTask.__table__.columns if column.key != "id"]
    rows = [{column.key: _value(task, column) for column in columns} for task in tasks]
    await session.execute(insert(SyncTask), rows)
    tenant_ids = {task.tenant_id for task in tasks}
    stored: dict[tuple[int, str], SyncTask] = {}
    for tenant_id in tenant_ids:
        order_ids = sorted(task.order_id for task in tasks if task.tenant_id == tenant_id)
        for chunk in _chunks(order_ids):
            found = await session.scalars(
                select(SyncTask).where(
                    SyncTask.tenant_id == tenant_id, SyncTask.order_id.in_(chunk)
                )
            )
            stored.update({(task.tenant_id, task.order_id): task for task in found})
    return [stored[(task.tenant_id, task.order_id)] for task in tasks]


def _value(task: SyncTask, column: Any) -> Any:
    value = getattr(task, column.key)
    if value is None and column.default is not None and column.default.is_scalar:
        return column.default.arg
    return value


async def get_task(session: AsyncSession, tenant_id: int, task_id: int) -> SyncTask | None:
    """The tenant's task, None for a task that does not exist or is another tenant's."""
    found = await session.scalars(_GET_TASK, {"tenant": tenant_id, "task": task_id})
    return found.first()


async def get_task_with_mapping(
    session: AsyncSession, tenant_id: int, task_id: int
) -> tuple[SyncTask, CustomerMapping | None] | None:
    """The tenant's task and its customer's mapping (None: not mapped), in one statement;
    None for a task that does not exist or is another tenant's."""
    row = (
        await session.execute(_GET_TASK_WITH_MAPPING, {"tenant": tenant_id, "task": task_id})
    ).first()
    if row is None:
        return None
    task, mapping = row
    return task, mapping


async def get_tasks(
    session: AsyncSession, tenant_id: int, task_ids: Sequence[int]
) -> dict[int, SyncTask]:
    """The tenant's tasks among ``task_ids`` by id; another tenant's are absent."""
    found = await session.scalars(
        select(SyncTask).where(SyncTask.tenant_id == tenant_id, SyncTask.id.in_(task_ids))
    )
    return {task.id: task for task in found}


async def list_tasks(
    session: AsyncSession, tenant_id: int, wanted: TaskFilter
) -> tuple[list[SyncTask], int]:
    """One page of the tenant's tasks, newest order first, and how many match in all.

    A search of SQLite's trigram table is counted from the index, then the page read (see
    :func:`_trigram_page`). Otherwise one statement: the page's rows each carry the count (an
    uncorrelated subquery, run once; on SQLite the matches are found once for both), and only
    a page past the end counts again.
    """
    needle = wanted.query.strip().casefold() if wanted.query else ""
    dialect = session.get_bind().dialect.name
    searchable = dialect == "sqlite" and SEPARATOR not in needle and NUL not in needle
    if needle and searchable and wanted.status is None and wanted.order_type is None:
        return await _search_page(session, tenant_id, needle, wanted)
    hits = _hits(needle, tenant_id, dialect) if needle else None
    counted = aliased(SyncTask)
    total = (
        select(func.count())
        .select_from(counted)
        .where(*_conditions(counted, tenant_id, wanted, needle, hits))
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(SyncTask, total)
            .where(*_conditions(SyncTask, tenant_id, wanted, needle, hits))
            .order_by(SyncTask.order_created_at.desc(), SyncTask.id.desc())
            .limit(wanted.limit)
            .offset(wanted.offset)
        )
    ).all()
    if rows:
        return [row[0] for row in rows], rows[0][1]
    count = select(func.count()).select_from(counted)
    return [], await session.scalar(
        count.where(*_conditions(counted, tenant_id, wanted, needle, hits))
    ) or 0


def _trigram_matches(tenant_id: int, needle: str) -> ColumnElement[bool]:
    """The FTS5 query for the tenant's tasks holding ``needle``: each an FTS string (quotes
    doubled), so nothing in a search is query syntax."""

    def phrase(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    query = f"search_text : {phrase(needle)} AND tenant : {phrase(tenant_text(tenant_id))}"
    return literal_column(TASK_SEARCH_TABLE).op("MATCH")(query)


async def _search_page(
    session: AsyncSession, tenant_id: int, needle: str, wanted: TaskFilter
) -> tuple[list[SyncTask], int]:
    """A search page on SQLite: counted from an index alone (the trigram table, or for a
    shorter needle the tenant's search-text index), then read by id when the matches are few,
    else along the tenant's order-date index, which stops once the page is full."""
    searched = aliased(SyncTask)
    if len(needle) >= TRIGRAM:
        matching = _trigram_matches(tenant_id, needle)
        counted = select(func.count()).select_from(_search).where(matching)
        hits = select(_search.c.rowid).where(matching)
        holds: ColumnElement[bool] = (SyncTask.id + 0).in_(hits)
    else:
        short = [searched.tenant_id == tenant_id, func.instr(searched.search_text, needle) > 0]
        counted = select(func.count()).select_from(searched).where(*short)
        hits = select(searched.id).where(*short)
        holds = func.instr(SyncTask.search_text, needle) > 0
    total = await session.scalar(counted) or 0
    if not total or wanted.offset >= total:
        return [], total
    if total <= FEW_MATCHES:
        # "+ 0" keeps the tenant's indexes out: the few rows are found by id, then sorted.
        conditions = [(SyncTask.tenant_id + 0) == tenant_id, SyncTask.id.in_(hits)]
    else:
        # Along the order dates, each row checked; "+ 0" above keeps the trigram matches from
        # being read by id instead.
        conditions = [SyncTask.tenant_id == tenant_id, holds]
    page = await session.scalars(
        select(SyncTask)
        .where(*conditions)
        .order_by(SyncTask.order_created_at.desc(), SyncTask.id.desc())
        .limit(wanted.limit)
        .offset(wanted.offset)
    )
    return list(page), total


def _hits(needle: str, tenant_id: int, dialect: str) -> Any:
    """On SQLite, the tenant's tasks whose search text holds ``needle``, as a CTE read once:
    looked up in the trigram table when ``needle`` has a trigram, else found by a covering scan
    of the ``search_text`` index. None elsewhere."""
    if dialect != "sqlite" or SEPARATOR in needle:
        return None
    if len(needle) >= TRIGRAM and NUL not in needle:
        found = select(_search.c.rowid.label("id")).where(_trigram_matches(tenant_id, needle))
    else:
        searched = aliased(SyncTask)
        found = select(searched.id).where(func.instr(searched.search_text, needle) > 0)
    return found.cte("hits").prefix_with("MATERIALIZED")


def _conditions(
    task: Any, tenant_id: int, wanted: TaskFilter, needle: str, hits: Any
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [task.tenant_id == tenant_id]
    if wanted.status is not None:
        conditions.append(task.status == wanted.status.value)
    if wanted.order_type is not None:
        conditions.append(task.order_type == wanted.order_type)
    if not needle:
        return conditions
    if SEPARATOR in needle:
        conditions.append(false())  # no single field holds the separator
    elif hits is not None:
        conditions.append(task.id.in_(select(hits.c.id)))
    else:
        conditions.append(task.search_text.like(f"%{_escape_like(needle)}%", escape="\\"))
    return conditions


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def claim_task(
    session: AsyncSession,
    tenant_id: int,
    task_id: int,
    *,
    token: str,
    now: dt.datetime,
    until: dt.datetime,
) -> bool:
    """Take the task for one sync run under ``token``: only a new or failed task whose last
    claim (if any) has lapsed. Atomic: of two runs racing for it, exactly one wins."""
    result = await session.execute(
        _CLAIM,
        {"tenant": tenant_id, "task": task_id, "now": now, "new_token": token, "until": until},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def renew_claim(
    session: AsyncSession, tenant_id: int, task_id: int, *, token: str, until: dt.datetime
) -> bool:
    """Extend the claim ``token`` holds to ``until``; False when another run owns the task now.

    Every journal write of a run goes through this in its own transaction, so a run that lost
    its task can change nothing (on PostgreSQL the row lock also orders it against a claimer).
    """
    result = await session.execute(
        _RENEW, {"tenant": tenant_id, "task": task_id, "token": token, "until": until}
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release_task(
    session: AsyncSession,
    tenant_id: int,
    task_id: int,
    *,
    token: str,
    status: TaskStatus,
    error: str | None,
    now: dt.datetime,
    agreement_id: int | None = None,
) -> Row[Any] | None:
    """End the claim ``token`` holds, leaving the task synced or failed: the task's row as it
    now stands, None if the claim was lost (nothing changed)."""
    parameters = {
        "tenant": tenant_id,
        "task": task_id,
        "token": token,
        "new_status": status.value,
        "new_error": error,
        "now": now,
    }
    if status is TaskStatus.SYNCED:
        statement, parameters["new_agreement"] = _RELEASE_SYNCED, agreement_id
    else:
        statement = _RELEASE
    result = await session.execute(statement, parameters)
    return result.one_or_none()


async def keep_subscription(
    session: AsyncSession, tenant_id: int, task_id: int, subscription_json: str
) -> None:
    """Keep the subscription as first read from the marketplace on the task, for later plans."""
    await session.execute(
        _KEEP_SUBSCRIPTION,
        {"tenant": tenant_id, "task": task_id, "subscription": subscription_json},
    )


async def unclaim_task(session: AsyncSession, tenant_id: int, task_id: int, *, token: str) -> None:
    """Let go of a claim that wrote nothing: the task's status stays as it was."""
    await session.execute(_UNCLAIM, {"tenant": tenant_id, "task": task_id, "token": token})


async def set_ignored(
    session: AsyncSession, task: SyncTask, *, ignored: bool, now: dt.datetime
) -> None:
    task.status = (TaskStatus.IGNORED if ignored else TaskStatus.NEW).value
    task.updated_at = now
    await session.flush()
