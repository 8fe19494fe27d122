"""jobs, automation settings, a task's waiting reason

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import psasync.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_tasks") as batch:
        batch.add_column(sa.Column("waiting_reason", sa.Text(), nullable=True))
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("started_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_jobs_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_tenant_created", "jobs", ["tenant_id", "created_at"], unique=False)
    op.create_table(
        "automation_settings",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("schedule_every", sa.String(length=8), nullable=True),
        sa.Column("schedule_at", sa.String(length=5), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("auto_sync_order_types", sa.Text(), nullable=False),
        sa.Column("auto_sync_price_source", sa.String(length=16), nullable=False),
        sa.Column("allow_credits", sa.Boolean(), nullable=False),
        sa.Column("max_amount", psasync.store.types.DecimalText(), nullable=True),
        sa.Column("notify_emails", sa.Text(), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("last_run_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.Column("next_run_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.Column("updated_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_automation_settings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_automation_settings")),
    )


def downgrade() -> None:
    op.drop_table("automation_settings")
    op.drop_index("ix_jobs_tenant_created", table_name="jobs")
    op.drop_table("jobs")
    with op.batch_alter_table("sync_tasks") as batch:
        batch.drop_column("waiting_reason")
