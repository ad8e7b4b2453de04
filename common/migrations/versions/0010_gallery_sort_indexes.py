"""gallery search: indexes on its sort keys (views, title), each with the id tie-break

Search sorted by views or title, with a word as common as most, matched about 2,000 of
10,000 videos; with no index on the sort key PostgreSQL read the whole table and sorted the
matches: 15-24 ms per query (EXPLAIN ANALYZE, bench/seed.py's catalogue). Walking an index
on (key, id), the keyset pagination's own order, it stops after the page: 0.5-1 ms.

Revision ID: 0010
Revises: 0009
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_INDEXES = {"ix_gallery_videos_view_count_id": ["view_count", "id"],
            "ix_gallery_videos_title_id": ["title", "id"]}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.create_index(name, "gallery_videos", columns)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="gallery_videos")
