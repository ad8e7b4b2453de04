"""The video state machine: the only module that changes a video's status.

    (created) UPLOADING -> UPLOADED          upload confirmed (gallery)
    UPLOADED | READY | FAILED -> PROCESSING  a job was queued (common/job_state.enqueue)
    PROCESSING -> READY                      a job published (job_state.succeed)
    PROCESSING -> READY | FAILED | UPLOADED  a job ended without publishing: READY while an
                                             earlier job's assets are published, else FAILED
                                             (it failed) or UPLOADED (cancelled: submit again)

A video is born UPLOADING (the column's default). The job-driven moves are made only by
``common/job_state.py``'s compound transitions, in the transaction of the job's own change,
so no caller pairs a job ending with a video update by hand. Like the job transitions,
each is one conditional UPDATE and the row count says whether it happened. Callers own the
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.orm import Session

from common.models import GalleryVideo, utcnow
from common.statuses import VideoStatus

# An upload may be confirmed again (the client retries) until a job is submitted for it.
CONFIRMABLE = (VideoStatus.UPLOADING, VideoStatus.UPLOADED)
# A job may be submitted once the source is confirmed, and again after a job ended.
SUBMITTABLE = (VideoStatus.UPLOADED, VideoStatus.READY, VideoStatus.FAILED)


@dataclass(frozen=True)
class SourceFacts:
    """What intake measured about the source, recorded on the video when it is published."""

    duration_s: float | None = None
    width: int | None = None
    height: int | None = None


def _apply(session: Session, where: list[Any], values: dict[str, Any]) -> bool:
    values.setdefault("updated_at", utcnow())
    # "fetch" keeps a GalleryVideo the caller holds in step with the row (RETURNING on
    # both PostgreSQL and SQLite).
    result = session.execute(
        update(GalleryVideo).where(*where).values(**values)
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def confirm_upload(session: Session, *, video_id: str) -> bool:
    """UPLOADING | UPLOADED -> UPLOADED: the source is in S3 as declared."""
    return _apply(session, [GalleryVideo.id == video_id, GalleryVideo.status.in_(CONFIRMABLE)],
                  {"status": VideoStatus.UPLOADED})


def start_processing(session: Session, *, video_id: str | None) -> bool:
    """-> PROCESSING for a video whose source is confirmed; False if it is not (or gone).
    On PostgreSQL the row stays locked until commit, so concurrent submits queue here."""
    return video_id is not None and _apply(
        session,
        [GalleryVideo.id == video_id, GalleryVideo.status.in_(SUBMITTABLE),
         GalleryVideo.source_bucket.is_not(None), GalleryVideo.source_key.is_not(None)],
        {"status": VideoStatus.PROCESSING},
    )


def publish(session: Session, *, video_id: str, job_id: str, source: SourceFacts) -> bool:
    """-> READY with ``job_id``'s assets, and what intake measured; False if the video is
    gone (deleted meanwhile)."""
    measured = {k: v for k, v in (("duration_s", source.duration_s), ("width", source.width),
                                  ("height", source.height)) if v is not None}
    return _apply(session, [GalleryVideo.id == video_id],
                  {"status": VideoStatus.READY, "current_job_id": job_id, **measured})


def settle_unpublished(session: Session, *, video_id: str, failed: bool) -> bool:
    """PROCESSING -> what the video is after a job that published nothing."""
    fallback = VideoStatus.FAILED if failed else VideoStatus.UPLOADED
    return _apply(
        session,
        [GalleryVideo.id == video_id, GalleryVideo.status == VideoStatus.PROCESSING],
        {"status": case((GalleryVideo.current_job_id.is_not(None), VideoStatus.READY.value),
                        else_=fallback.value)},
    )
