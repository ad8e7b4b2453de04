"""jobs: error_code, and at most one active job per video

``error_code`` is the stable reason a job failed (common/error_codes.py); ``error`` stays
the short human sentence. The partial unique index makes "one queued or running job per
video" a fact of the schema rather than a check before an insert that two concurrent
submits can both pass. Partial indexes work on PostgreSQL and SQLite alike.

Duplicates made before the index existed would stop it being built: every active job but
the oldest of its video is cancelled first (none has started, or it would not be QUEUED).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ACTIVE = "status IN ('QUEUED', 'RUNNING')"


def upgrade() -> None:
    op.add_column("jobs", sa.Column("error_code", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE jobs SET status = 'CANCELLED', cancel_requested = true, "
        "finished_at = CURRENT_TIMESTAMP "
        f"WHERE status = 'QUEUED' AND EXISTS (SELECT 1 FROM jobs AS older "
        f"WHERE older.video_id = jobs.video_id AND older.{_ACTIVE} "
        "AND (older.created_at < jobs.created_at OR older.status = 'RUNNING' "
        "OR (older.created_at = jobs.created_at AND older.id < jobs.id)))"
    )
    op.create_index("uq_jobs_active_video", "jobs", ["video_id"], unique=True,
                    postgresql_where=sa.text(_ACTIVE), sqlite_where=sa.text(_ACTIVE))


def downgrade() -> None:
    op.drop_index("uq_jobs_active_video", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("error_code")
