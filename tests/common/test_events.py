"""The events outbox: rows exist exactly when their transaction commits, with stable ids
and the bodies the API reads return; the same SQL on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from common import events
from common.db import engine_for, migrate
from common.events import EventType
from common.job_view import job_public
from common.models import AssetKind, Base, Event, GalleryVideo, Job, MediaAsset
from common.video_view import VideoPublic

OUTBOX_TABLES = {"events", "webhook_endpoints", "webhook_deliveries"}


@pytest.fixture(params=["postgresql", "sqlite"])
def any_database(request, database_url: str, tmp_path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vf.db'}"
        migrate(url)
        return url
    return database_url


def _video_and_job(session: Session, owner: str = "u1") -> tuple[GalleryVideo, Job]:
    video = GalleryVideo(owner_id=owner, title="a title")
    session.add(video)
    session.flush()
    job = Job(video_id=video.id, owner_id=owner)
    session.add(job)
    session.flush()
    return video, job


def test_an_event_exists_only_if_its_transaction_commits(any_database: str) -> None:
    engine = engine_for(any_database)
    with Session(engine) as session:
        video, job = _video_and_job(session)
        session.commit()
        job_id, video_id = job.id, video.id
        kept = events.record_job_event(session, EventType.JOB_QUEUED, job_id=job.id).id
        session.commit()
        dropped = events.record_job_event(session, EventType.JOB_CANCELLED, job_id=job.id).id
        session.rollback()
    with Session(engine) as session:
        ids = set(session.execute(select(Event.id).where(Event.subject_id == job_id)).scalars())
        session.execute(delete(Event).where(Event.subject_id == job_id))
        session.execute(delete(Job).where(Job.id == job_id))  # a job outlives its video
        session.execute(delete(GalleryVideo).where(GalleryVideo.id == video_id))
        session.commit()
    assert kept in ids and dropped not in ids


def test_job_event_body_is_the_job_as_the_api_reads_it(db_session: Session) -> None:
    video, job = _video_and_job(db_session)
    event = events.record_job_event(db_session, EventType.JOB_QUEUED, job_id=job.id)
    body = json.loads(event.body)
    assert body["id"] == event.id and event.id.startswith("evt_")
    assert body["type"] == "job.queued"
    assert body["created_at"].endswith("Z")
    assert body["data"] == job_public(db_session, job).model_dump(mode="json")
    assert body["data"]["queue_position"] == 0
    assert (event.owner_id, event.subject_id) == ("u1", job.id)


def test_job_event_reads_the_row_a_conditional_update_just_changed(db_session) -> None:
    from sqlalchemy import update

    from common.job_state import JobStatus

    _, job = _video_and_job(db_session)
    db_session.execute(update(Job).where(Job.id == job.id).values(status=JobStatus.FAILED,
                                                                  error="not media"))
    body = json.loads(events.record_job_event(db_session, EventType.JOB_FAILED,
                                              job_id=job.id).body)
    assert (body["data"]["status"], body["data"]["error"]) == ("FAILED", "not media")


def test_video_and_rendition_events(db_session: Session) -> None:
    video, job = _video_and_job(db_session)
    for quality, height in (("720p", 720), ("480p", 480)):
        db_session.add(MediaAsset(video_id=video.id, job_id=job.id, kind=AssetKind.MP4,
                                  quality=quality, bucket="b", key=f"k/{quality}",
                                  content_type="video/mp4", width=height * 16 // 9,
                                  height=height, bitrate=1000 * height, size_bytes=height))
    db_session.add(MediaAsset(video_id=video.id, job_id=job.id, kind=AssetKind.THUMBNAIL,
                              bucket="b", key="k/t", content_type="image/jpeg"))
    renditions = events.record_rendition_events(db_session, video_id=video.id, job_id=job.id)
    bodies = [json.loads(e.body)["data"] for e in renditions]
    assert [b["quality"] for b in bodies] == ["480p", "720p"]
    assert bodies[0] == {"quality": "480p", "width": 853, "height": 480, "bitrate": 480000,
                         "size_bytes": 480, "content_type": "video/mp4",
                         "video_id": video.id, "job_id": job.id}
    ready = events.record_video_event(db_session, EventType.VIDEO_READY, video_id=video.id)
    assert json.loads(ready.body)["data"] == VideoPublic.model_validate(video).model_dump(
        mode="json")
    assert len({e.id for e in [*renditions, ready]}) == 3


def test_event_type_must_match_the_resource(db_session: Session) -> None:
    _, job = _video_and_job(db_session)
    with pytest.raises(ValueError, match="not a job event"):
        events.record_job_event(db_session, EventType.VIDEO_READY, job_id=job.id)


def test_outbox_tables_match_the_models(any_database: str) -> None:
    with engine_for(any_database).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def table_of(change) -> str | None:
        item = change[0] if isinstance(change, list) else change
        for part in item[1:]:
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if name in OUTBOX_TABLES:
                return name
        return None

    assert [c for c in diff if table_of(c) in OUTBOX_TABLES] == []
