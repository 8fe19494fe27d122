"""sessions in the database, tenant locks, the marketplace integration user

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import psasync.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=300), nullable=False),
        sa.Column("marketplace", sa.String(length=32), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=False),
        sa.Column("reseller_name", sa.String(length=300), nullable=False),
        sa.Column("csrf_token", sa.String(length=100), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        sa.Column("token_issued_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("token_expires_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("created_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_user_sessions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_user_sessions")),
    )
    op.create_index("ix_user_sessions_expires_at", "user_sessions", ["expires_at"], unique=False)
    op.create_index(
        op.f("ix_user_sessions_tenant_id"), "user_sessions", ["tenant_id"], unique=False
    )
    op.create_table(
        "tenant_locks",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("held_by", sa.String(length=300), nullable=False),
        sa.Column("acquired_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("held_until", psasync.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_locks_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "purpose", name=op.f("pk_tenant_locks")),
    )
    op.create_table(
        "integration_users",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=300), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=False),
        sa.Column("configured_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("configured_by", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_integration_users_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_integration_users")),
    )


def downgrade() -> None:
    op.drop_table("integration_users")
    op.drop_table("tenant_locks")
    op.drop_index(op.f("ix_user_sessions_tenant_id"), table_name="user_sessions")
    op.drop_index("ix_user_sessions_expires_at", table_name="user_sessions")
    op.drop_table("user_sessions")
