"""cost per job: jobs.stored_bytes, and indexes for usage over a period

``stored_bytes`` is the sum of the published asset sizes, written with the job's
``instance_seconds`` when it succeeds; the two are what the cost model prices
(common/costs.py). Usage reads finished jobs by owner and period
(``ix_jobs_owner_finished``) and, for admins, everyone's by period (``ix_jobs_finished``).
SQLite's ALTER TABLE adds a nullable column in place, so no batch copy is needed.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("stored_bytes", sa.BigInteger(), nullable=True))
    op.create_index("ix_jobs_owner_finished", "jobs", ["owner_id", "finished_at"])
    op.create_index("ix_jobs_finished", "jobs", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_finished", table_name="jobs")
    op.drop_index("ix_jobs_owner_finished", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("stored_bytes")
