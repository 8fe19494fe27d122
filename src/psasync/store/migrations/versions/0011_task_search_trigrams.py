"""task search through a trigram index on SQLite

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

On SQLite a substring search (``q=``) used to read every task's ``search_text`` from its B-tree
index (a scan of as many entries as there are tasks, for every search). This adds
``sync_tasks_search``, an FTS5 table with the trigram tokenizer: each task's search text, and
its tenant as the text ``~<tenant id>~`` (so a search asks for both and the tenant's matches
are counted from the index alone). Triggers keep it equal to ``sync_tasks`` on every insert,
update and delete.

A search of one or two characters (no trigram to look up) reads the new tenant-first index
``ix_sync_tasks_tenant_search`` (tenant, search text, order date) instead: only the tenant's
entries, without the tasks' rows. PostgreSQL gets that index too (the models are one schema);
its substring search keeps the pg_trgm GIN index of migration 0006.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The table is psasync.store.models.TASK_SEARCH_TABLE, the tenant's text as in
# psasync.store.tasks.tenant_text (a migration does not import the app).
CREATE = (
    "CREATE VIRTUAL TABLE sync_tasks_search USING fts5(search_text, tenant, "
    "tokenize='trigram case_sensitive 1')"
)
FILL = (
    "INSERT INTO sync_tasks_search (rowid, search_text, tenant) "
    "SELECT id, search_text, '~' || tenant_id || '~' FROM sync_tasks"
)
ADD = (
    "INSERT INTO sync_tasks_search (rowid, search_text, tenant) "
    "VALUES (new.id, new.search_text, '~' || new.tenant_id || '~'); "
)
REMOVE = "DELETE FROM sync_tasks_search WHERE rowid = old.id; "
TRIGGERS = {
    "sync_tasks_search_insert": "AFTER INSERT ON sync_tasks BEGIN " + ADD + "END",
    "sync_tasks_search_delete": "AFTER DELETE ON sync_tasks BEGIN " + REMOVE + "END",
    "sync_tasks_search_update": "AFTER UPDATE OF search_text, tenant_id ON sync_tasks BEGIN "
    + REMOVE
    + ADD
    + "END",
}


INDEX = "ix_sync_tasks_tenant_search"


def upgrade() -> None:
    op.create_index(INDEX, "sync_tasks", ["tenant_id", "search_text", "order_created_at"])
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(CREATE)
    op.execute(FILL)
    for name, body in TRIGGERS.items():
        op.execute("CREATE TRIGGER " + name + " " + body)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="sync_tasks")
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute("DROP TRIGGER IF EXISTS " + name)
    op.execute("DROP TABLE IF EXISTS sync_tasks_search")
