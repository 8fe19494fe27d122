"""fenced sync runs, verification events, setup-fee catalog items

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import psasync.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_tasks") as batch:
        batch.add_column(sa.Column("claim_token", sa.String(length=64), nullable=True))
    with op.batch_alter_table("sync_actions") as batch:
        batch.add_column(
            sa.Column("attempted_at", psasync.store.types.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("product_mappings") as batch:
        batch.add_column(sa.Column("setup_catalog_item_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("setup_identifier", sa.String(length=100), nullable=True))
    op.create_table(
        "sync_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=True),
        sa.Column("addition_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_sync_events_run_id_sync_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_events")),
    )
    op.create_index(op.f("ix_sync_events_run_id"), "sync_events", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sync_events_run_id"), table_name="sync_events")
    op.drop_table("sync_events")
    with op.batch_alter_table("product_mappings") as batch:
        batch.drop_column("setup_identifier")
        batch.drop_column("setup_catalog_item_id")
    with op.batch_alter_table("sync_actions") as batch:
        batch.drop_column("attempted_at")
    with op.batch_alter_table("sync_tasks") as batch:
        batch.drop_column("claim_token")
