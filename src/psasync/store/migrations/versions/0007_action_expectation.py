"""what the PSA showed before each write, to decide an unknown outcome

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_actions") as batch:
        batch.add_column(sa.Column("expectation_json", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_actions") as batch:
        batch.drop_column("expectation_json")
