"""reconciliation reports, their items and the fixes' journal

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import psasync.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconciliation_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("as_of", sa.String(length=10), nullable=False),
        sa.Column("price_source", sa.String(length=16), nullable=False),
        sa.Column("customer_filter", sa.Text(), nullable=True),
        sa.Column("totals_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_reconciliation_reports_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_reports")),
    )
    op.create_index(
        "ix_reconciliation_reports_tenant_created",
        "reconciliation_reports",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "reconciliation_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("customer_name", sa.String(length=300), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("mpn", sa.String(length=200), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("monthly_impact", psasync.store.types.DecimalText(), nullable=False),
        sa.Column("marketplace_json", sa.Text(), nullable=True),
        sa.Column("psa_json", sa.Text(), nullable=True),
        sa.Column("fix_json", sa.Text(), nullable=True),
        sa.Column("notes_json", sa.Text(), nullable=False),
        sa.Column("fix_outcome", sa.String(length=16), nullable=True),
        sa.Column("fix_by", sa.String(length=300), nullable=True),
        sa.Column("fix_agreement_id", sa.Integer(), nullable=True),
        sa.Column("fix_plan_json", sa.Text(), nullable=True),
        sa.Column("fix_started_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.Column("fixed_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.Column("fix_error", sa.Text(), nullable=True),
        sa.Column("fix_note", sa.Text(), nullable=True),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", psasync.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reconciliation_reports.id"],
            name=op.f("fk_reconciliation_items_report_id_reconciliation_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_items")),
        sa.UniqueConstraint("report_id", "item_id", name=op.f("uq_reconciliation_items_report_id")),
    )
    op.create_index(
        "ix_reconciliation_items_report_customer",
        "reconciliation_items",
        ["report_id", "customer_id"],
        unique=False,
    )
    op.create_table(
        "reconciliation_fix_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_row_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mpn", sa.String(length=200), nullable=False),
        sa.Column("addition_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempted_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_row_id"],
            ["reconciliation_items.id"],
            name=op.f("fk_reconciliation_fix_actions_item_row_id_reconciliation_items"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_reconciliation_fix_actions_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_fix_actions")),
        sa.UniqueConstraint(
            "item_row_id", "key", name=op.f("uq_reconciliation_fix_actions_item_row_id")
        ),
    )
    op.create_index(
        op.f("ix_reconciliation_fix_actions_item_row_id"),
        "reconciliation_fix_actions",
        ["item_row_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_reconciliation_fix_actions_tenant_id"),
        "reconciliation_fix_actions",
        ["tenant_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_reconciliation_fix_actions_tenant_id"), table_name="reconciliation_fix_actions"
    )
    op.drop_index(
        op.f("ix_reconciliation_fix_actions_item_row_id"), table_name="reconciliation_fix_actions"
    )
    op.drop_table("reconciliation_fix_actions")
    op.drop_index("ix_reconciliation_items_report_customer", table_name="reconciliation_items")
    op.drop_table("reconciliation_items")
    op.drop_index("ix_reconciliation_reports_tenant_created", table_name="reconciliation_reports")
    op.drop_table("reconciliation_reports")
