"""gallery search: a stored tsvector column with its own GIN index

The expression index of 0001 serves a query only when the planner chooses it; when it
walks another index instead (created_at for "newest first") it computes to_tsvector for
every row it passes, which is the slowest thing a search can do. A stored generated
column makes every plan cheap: the vector is computed once, when the row is written.
PostgreSQL only; SQLite searches with LIKE and needs neither.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_DOCUMENT = ("to_tsvector('english', coalesce(title, '') || ' ' || "
             "coalesce(description, ''))")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE gallery_videos ADD COLUMN search_vector tsvector "
               f"GENERATED ALWAYS AS ({_DOCUMENT}) STORED")
    op.execute("CREATE INDEX ix_gallery_videos_search_vector ON gallery_videos "
               "USING gin (search_vector)")
    op.execute("DROP INDEX IF EXISTS ix_gallery_videos_fts")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX ix_gallery_videos_fts ON gallery_videos USING gin ({_DOCUMENT})")
    op.execute("DROP INDEX IF EXISTS ix_gallery_videos_search_vector")
    op.execute("ALTER TABLE gallery_videos DROP COLUMN search_vector")
