"""Datetimes come back timezone-aware (UTC) from SQLite too, the local stack's database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from common.db import make_engine, migrate, session_factory
from common.models import GalleryVideo


def test_sqlite_returns_aware_utc_datetimes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vf.db'}"
    migrate(url)
    made = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with session_factory(url)() as session:
        session.add(GalleryVideo(id="v1", owner_id="u", created_at=made))
        session.commit()
    with session_factory(url)() as session:
        video = session.execute(select(GalleryVideo)).scalar_one()
        assert video.created_at == made and video.created_at.tzinfo is not None
        assert datetime.now(UTC) - video.updated_at < timedelta(minutes=5)
        # Comparisons in SQL see the same instants.
        earlier = made - timedelta(seconds=1)
        assert session.execute(
            select(GalleryVideo.id).where(GalleryVideo.created_at > earlier)).scalar() == "v1"
    make_engine(url).dispose()
