"""Migration 0009 on a database with data in it: a job outlives its video, and rebuilding
the jobs table (SQLite's batch mode) loses none of the rows that reference a job."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from common.db import make_engine, migrate, normalize_url
from tests.support.services import ADMIN_DATABASE_URL

_ROWS = [
    "INSERT INTO gallery_videos (id, owner_id, title, description, visibility, status, "
    "filename, view_count, grant_epoch, created_at, updated_at) VALUES ('v1', 'u1', 't', '', "
    "'PRIVATE', 'READY', 'f.mp4', 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO jobs (id, video_id, owner_id, status, priority, progress, attempts, "
    "cancel_requested, chunked, instance_seconds, created_at, updated_at) VALUES ('j1', "
    "'v1', 'u1', 'SUCCEEDED', 0, 1, 1, false, false, 42.0, CURRENT_TIMESTAMP, "
    "CURRENT_TIMESTAMP)",
    "INSERT INTO media_assets (id, video_id, job_id, kind, quality, bucket, key, "
    "content_type, size_bytes, created_at) VALUES ('a1', 'v1', 'j1', 'HLS_MASTER', '', 'b', "
    "'k', 'application/vnd.apple.mpegurl', 0, CURRENT_TIMESTAMP)",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'vf.db'}"
        return
    name = f"vf_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(ADMIN_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_0009_keeps_every_row_and_a_deleted_videos_jobs(empty_database: str) -> None:
    migrate(empty_database, "0008")
    engine = make_engine(empty_database)
    with engine.begin() as conn:
        for row in _ROWS:
            conn.execute(text(row))
    engine.dispose()
    migrate(empty_database)
    engine = make_engine(empty_database)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM media_assets")).scalar() == 1
        conn.execute(text("DELETE FROM gallery_videos WHERE id = 'v1'"))
        # The job stays, with what it cost; its assets went with the video.
        assert conn.execute(text("SELECT video_id, instance_seconds FROM jobs")).all() == [
            (None, 42.0)]
        assert conn.execute(text("SELECT count(*) FROM media_assets")).scalar() == 0
    engine.dispose()
