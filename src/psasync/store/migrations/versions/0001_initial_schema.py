"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import psasync.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("marketplace", sa.String(length=32), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("orders_checked_through", psasync.store.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("last_login_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("marketplace", "reseller_id", name=op.f("uq_tenants_marketplace")),
    )
    op.create_table(
        "connectwise_settings",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("site_url", sa.String(length=300), nullable=False),
        sa.Column("company_id", sa.String(length=100), nullable=False),
        sa.Column("public_key", sa.String(length=200), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("codebase", sa.String(length=100), nullable=True),
        sa.Column("change_strategy", sa.String(length=32), nullable=False),
        sa.Column("credit_downgrades", sa.Boolean(), nullable=False),
        sa.Column("verified_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_connectwise_settings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_connectwise_settings")),
    )
    op.create_table(
        "customer_mappings",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("company_name", sa.String(length=300), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_customer_mappings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name=op.f("pk_customer_mappings")),
    )
    op.create_table(
        "customers",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("seen_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_customers_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name=op.f("pk_customers")),
    )
    op.create_table(
        "product_mappings",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("mpn", sa.String(length=200), nullable=False),
        sa.Column("catalog_item_id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=100), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_product_mappings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "mpn", name=op.f("pk_product_mappings")),
    )
    op.create_table(
        "sync_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=False),
        sa.Column("order_type", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("customer_name", sa.String(length=300), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("order_created_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("order_json", sa.Text(), nullable=False),
        sa.Column("subscription_json", sa.Text(), nullable=True),
        sa.Column("claimed_until", psasync.store.types.UTCDateTime(), nullable=True),
        sa.Column("agreement_id", sa.Integer(), nullable=True),
        sa.Column("synced_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sync_tasks_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_tasks")),
        sa.UniqueConstraint("tenant_id", "order_id", name=op.f("uq_sync_tasks_tenant_id")),
    )
    with op.batch_alter_table("sync_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sync_tasks_tenant_created", ["tenant_id", "order_created_at"], unique=False
        )
        batch_op.create_index("ix_sync_tasks_tenant_status", ["tenant_id", "status"], unique=False)

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("agreement_name", sa.String(length=300), nullable=False),
        sa.Column("price_source", sa.String(length=16), nullable=False),
        sa.Column("user", sa.String(length=300), nullable=False),
        sa.Column("started_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("prorated_amount", psasync.store.types.DecimalText(length=64), nullable=False),
        sa.Column("recurring_before", psasync.store.types.DecimalText(length=64), nullable=False),
        sa.Column("recurring_after", psasync.store.types.DecimalText(length=64), nullable=False),
        sa.Column("plan_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["sync_tasks.id"], name=op.f("fk_sync_runs_task_id_sync_tasks")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sync_runs_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_runs_task_id"), ["task_id"], unique=False)
        batch_op.create_index(
            "ix_sync_runs_tenant_started", ["tenant_id", "started_at"], unique=False
        )

    op.create_table(
        "sync_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mpn", sa.String(length=200), nullable=False),
        sa.Column("addition_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_sync_actions_run_id_sync_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_actions")),
        sa.UniqueConstraint("run_id", "key", name=op.f("uq_sync_actions_run_id")),
    )


def downgrade() -> None:
    op.drop_table("sync_actions")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_runs_tenant_started")
        batch_op.drop_index(batch_op.f("ix_sync_runs_task_id"))

    op.drop_table("sync_runs")
    with op.batch_alter_table("sync_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_tasks_tenant_status")
        batch_op.drop_index("ix_sync_tasks_tenant_created")

    op.drop_table("sync_tasks")
    op.drop_table("product_mappings")
    op.drop_table("customers")
    op.drop_table("customer_mappings")
    op.drop_table("connectwise_settings")
    op.drop_table("tenants")
