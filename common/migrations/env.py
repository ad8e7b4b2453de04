"""Alembic environment: the URL comes from the caller (common.db.migrate) or VF_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from common.db import make_engine, normalize_url
from common.models import Base
from common.settings import CommonSettings

config = context.config
url = config.get_main_option("sqlalchemy.url") or normalize_url(CommonSettings().database_url)

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        if url.startswith("sqlite"):
            # Batch mode rebuilds a table by dropping it; with foreign keys on, SQLite
            # would cascade the drop to every row that references it. (A no-op inside a
            # transaction, so before one begins.)
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # ends the autobegun transaction: Alembic begins its own
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
