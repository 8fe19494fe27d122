"""a tenant's Autotask settings

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

``autotask_settings``: the API user, its secret and the integration code (both sealed with the
secret key), the zone's REST root, when they were last checked and the last error.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import psasync.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "autotask_settings",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=300), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("integration_code_encrypted", sa.Text(), nullable=False),
        sa.Column("zone_url", sa.String(length=2000), nullable=False),
        sa.Column("verified_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", psasync.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_autotask_settings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_autotask_settings")),
    )


def downgrade() -> None:
    op.drop_table("autotask_settings")
