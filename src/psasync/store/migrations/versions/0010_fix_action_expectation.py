"""what the PSA showed before each write of a reconciliation fix, to decide an unknown outcome

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reconciliation_fix_actions") as batch:
        batch.add_column(sa.Column("expectation_json", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reconciliation_fix_actions") as batch:
        batch.drop_column("expectation_json")
