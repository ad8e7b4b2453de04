"""Where the real services the tests use are (override with the environment), and
emptying the test database."""

from __future__ import annotations

import os

from sqlalchemy import text

from common.db import engine_for

ADMIN_DATABASE_URL = os.environ.get(
    "VF_TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("VF_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def truncate_all(database_url: str) -> None:
    """Empty every table the migrations made (read from the catalog, so a table a new
    migration adds is never missed), not Alembic's own."""
    with engine_for(database_url).begin() as conn:
        tables = conn.execute(text(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename <> 'alembic_version'")).scalars().all()
        # A process the test left behind holding a lock fails here, not at the timeout.
        conn.execute(text("SET LOCAL lock_timeout = '20s'"))
        conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
