"""jobs: the scheduler's columns (retry backoff, the claiming token) and its index

The database is the scheduler (common/scheduler.py). ``not_before`` holds a retried job
back until its backoff is over (SQS can delay a message by 15 minutes at most);
``claim_token`` records the wake-up token a job was last claimed under, which is how the
dead-letter sweep maps a dead-lettered token to its job. The indexes serve the
scheduler's order among queued jobs and its fair share (an owner's last start).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
    op.add_column("jobs", sa.Column("claim_token", sa.String(length=128), nullable=True))
    op.create_index("ix_jobs_claim_token", "jobs", ["claim_token"])
    op.create_index("ix_jobs_status_priority_created", "jobs",
                    ["status", "priority", "created_at"])
    op.create_index("ix_jobs_owner_started", "jobs", ["owner_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_owner_started", table_name="jobs")
    op.drop_index("ix_jobs_status_priority_created", table_name="jobs")
    op.drop_index("ix_jobs_claim_token", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("claim_token")
        batch.drop_column("not_before")
