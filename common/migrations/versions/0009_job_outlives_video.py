"""jobs.video_id: ON DELETE SET NULL, so a job outlives its video

Deleting a video used to delete its jobs with it (the foreign key cascaded), and with them
the worker time and stored bytes they recorded: a user could make a month's usage vanish
by deleting what they had transcoded. The job rows stay now, with no video; usage counts
them by owner and finish time, as before (gateway/usage_queries.py).

On SQLite the table is rebuilt (batch mode). Its foreign keys are off while migrations run
(common/migrations/env.py): dropping the old ``jobs`` with them on would cascade to every
row that references a job (assets, tasks, deliveries).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# PostgreSQL's name for the unnamed constraint of 0001; SQLite's is unnamed, and batch
# mode names it through this convention to drop it.
_PG_NAME = "jobs_video_id_fkey"
_CONVENTION = {"fk": "fk_%(table_name)s_%(column_0_name)s"}
_SQLITE_NAME = "fk_jobs_video_id"


def _swap(ondelete: str, *, nullable: bool) -> None:
    name = _SQLITE_NAME if op.get_bind().dialect.name == "sqlite" else _PG_NAME
    with op.batch_alter_table("jobs", naming_convention=_CONVENTION) as batch:
        batch.drop_constraint(name, type_="foreignkey")
        batch.alter_column("video_id", existing_type=sa.String(36), nullable=nullable)
        batch.create_foreign_key(name, "gallery_videos", ["video_id"], ["id"],
                                 ondelete=ondelete)


def upgrade() -> None:
    _swap("SET NULL", nullable=True)


def downgrade() -> None:
    # A job whose video is gone has nothing to cascade from: it goes now.
    op.execute("DELETE FROM jobs WHERE video_id IS NULL")
    _swap("CASCADE", nullable=False)
