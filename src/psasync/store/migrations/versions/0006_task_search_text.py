"""a task's normalised search text, indexed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

``sync_tasks.search_text`` holds the casefolded order number, customer name and customer id
(``psasync.store.tasks.search_text``), filled here for the tasks already stored. Its index is,
on PostgreSQL, a pg_trgm GIN index (``LIKE '%…%'`` uses it) when the extension can be created,
else a plain B-tree; on SQLite a B-tree that a substring search reads instead of the table.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEX = "ix_sync_tasks_search_text"
SEPARATOR = "\x1f"  # as psasync.store.tasks.SEPARATOR (a migration does not import the app)
BATCH = 1000

log = logging.getLogger(__name__)


def search_text(order_number: str, customer_name: str, customer_id: str) -> str:
    return SEPARATOR.join(part.casefold() for part in (order_number, customer_name, customer_id))


def upgrade() -> None:
    with op.batch_alter_table("sync_tasks") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=True))
    _backfill()
    with op.batch_alter_table("sync_tasks") as batch:
        batch.alter_column("search_text", existing_type=sa.Text(), nullable=False)
    if op.get_bind().dialect.name == "postgresql" and _trigrams_available():
        op.create_index(
            INDEX,
            "sync_tasks",
            ["search_text"],
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )
    else:
        op.create_index(INDEX, "sync_tasks", ["search_text"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="sync_tasks")
    with op.batch_alter_table("sync_tasks") as batch:
        batch.drop_column("search_text")


def _backfill() -> None:
    connection = op.get_bind()
    tasks = sa.table(
        "sync_tasks",
        sa.column("id", sa.Integer()),
        sa.column("order_number", sa.String()),
        sa.column("customer_name", sa.String()),
        sa.column("customer_id", sa.String()),
        sa.column("search_text", sa.Text()),
    )
    rows = connection.execute(
        sa.select(tasks.c.id, tasks.c.order_number, tasks.c.customer_name, tasks.c.customer_id)
    ).all()
    update = (
        sa.update(tasks)
        .where(tasks.c.id == sa.bindparam("task_id"))
        .values(search_text=sa.bindparam("text"))
    )
    for start in range(0, len(rows), BATCH):
        connection.execute(
            update,
            [
                {"task_id": row.id, "text": search_text(*row[1:])}
                for row in rows[start : start + BATCH]
            ],
        )


def _trigrams_available() -> bool:
    """Whether pg_trgm is (or can now be) installed; a refusal leaves the transaction usable."""
    connection = op.get_bind()
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as error:
        log.warning("pg_trgm cannot be installed (%s); task search uses a B-tree index", error)
        return False
    return True
