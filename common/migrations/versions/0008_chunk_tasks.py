"""tasks: the units of a chunked job (issue 10), and jobs.chunked

A long source's job runs as tasks: one per chunk, one for the audio, one stitch. Each is
a row with the claim, heartbeat, retry and dead-letter columns a job has; priority, owner
and age come from the job (common/scheduler.py joins them). ``jobs.chunked`` marks a job
whose work is in its tasks: it is never claimed as a whole again.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_STATUSES = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")


def upgrade() -> None:
    op.add_column("jobs", sa.Column("chunked", sa.Boolean(), nullable=False,
                                    server_default=sa.text("false")))
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.Enum("chunk", "audio", "stitch", name="task_kind",
                                  native_enum=False, length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum(*_STATUSES, name="task_status", native_enum=False,
                                    length=16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(128), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(128), nullable=True),
        sa.Column("estimated_work_s", sa.Float(), nullable=True),
        sa.Column("instance_seconds", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("job_id", "seq", name="uq_tasks_job_seq"),
    )
    op.create_index("ix_tasks_job_id", "tasks", ["job_id"])
    op.create_index("ix_tasks_claim_token", "tasks", ["claim_token"])
    op.create_index("ix_tasks_status_job", "tasks", ["status", "job_id"])


def downgrade() -> None:
    op.drop_table("tasks")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("chunked")
