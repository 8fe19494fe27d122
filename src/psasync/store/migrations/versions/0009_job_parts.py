"""the parts of a job that fans out (an unattended run's per-task syncs)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

``job_parts``: one row per part of a job (its key, e.g. a task id), its result once a worker
ran it; the job ends when none is left without one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import psasync.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_parts",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("finished_at", psasync.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_parts_job_id_jobs")),
        sa.PrimaryKeyConstraint("job_id", "key", name=op.f("pk_job_parts")),
    )


def downgrade() -> None:
    op.drop_table("job_parts")
