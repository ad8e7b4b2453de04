"""The events outbox: every state change a caller cares about, as a row written in the
same transaction as the change.

Nothing here commits or sends. A rolled-back change therefore leaves no event behind, and
a committed one is in the table however the process ends; the notifier (``notifier/``)
fans each event out to the owner's webhook endpoints and delivers it. The row holds the
exact body every delivery sends: an envelope with a stable id and a timestamp around what
the matching API read returns (the job as ``GET /api/jobs/{id}``, the video as the
gallery, a rendition as one entry of ``GET /api/stream/{id}/qualities``).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.job_view import job_public
from common.models import AssetKind, Event, GalleryVideo, Job, MediaAsset, utcnow
from common.video_view import QualityPublic, VideoPublic, quality_public

Data = TypeVar("Data")


class EventType(enum.StrEnum):
    JOB_QUEUED = "job.queued"
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    JOB_CANCELLED = "job.cancelled"
    VIDEO_READY = "video.ready"
    VIDEO_DELETED = "video.deleted"
    RENDITION_READY = "rendition.ready"

    @property
    def resource(self) -> str:
        return self.value.split(".", 1)[0]


class RenditionPublic(QualityPublic):
    """One quality of a published video, with the video and job it belongs to."""

    video_id: str
    job_id: str


class EventEnvelope(BaseModel, Generic[Data]):
    """What every webhook delivery of an event carries, byte for byte the same each time
    (``Data``: the body's type, for the API docs; the outbox stores plain JSON)."""

    id: str = Field(description="stable per event: a redelivery or a retry repeats it",
                    examples=["evt_2b0c5b1e9b0e4d1c8a3f6d7e8f901234"])
    type: EventType
    created_at: datetime = Field(description="when the change was committed (UTC)")
    data: Data = Field(description="the job, video or rendition as the API returned it "
                                   "at that moment")


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


def record_event(session: Session, *, type: EventType, owner_id: str, subject_id: str,
                 payload: BaseModel | dict[str, Any]) -> Event:
    """Add one event to ``session``'s transaction; it exists only if that commits."""
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    event_id, now = new_event_id(), utcnow()
    envelope = EventEnvelope[dict[str, Any]](id=event_id, type=type, created_at=now, data=data)
    event = Event(id=event_id, type=type.value, owner_id=owner_id, subject_id=subject_id,
                  body=envelope.model_dump_json(), created_at=now)
    session.add(event)
    return event


def _fresh(session: Session, model: type[Any], row_id: str) -> Any:
    # Transitions are conditional UPDATEs that leave loaded objects stale: read the row
    # as the transaction now has it (autoflush first writes anything pending).
    return session.execute(
        select(model).where(model.id == row_id).execution_options(populate_existing=True)
    ).scalar_one()


def _require(type: EventType, resource: str) -> None:
    if type.resource != resource:
        raise ValueError(f"{type.value} is not a {resource} event")


def record_job_event(session: Session, type: EventType, *, job_id: str) -> Event:
    """A ``job.*`` event whose data is the job as ``GET /api/jobs/{id}`` returns it now."""
    _require(type, "job")
    job: Job = _fresh(session, Job, job_id)
    return record_event(session, type=type, owner_id=job.owner_id, subject_id=job.id,
                        payload=job_public(session, job))


def record_video_event(session: Session, type: EventType, *, video_id: str) -> Event:
    """A ``video.*`` event whose data is the video as the gallery returns it now (for
    ``video.deleted``: record it before the delete, so the data is the last state)."""
    _require(type, "video")
    video: GalleryVideo = _fresh(session, GalleryVideo, video_id)
    return record_event(session, type=type, owner_id=video.owner_id, subject_id=video.id,
                        payload=VideoPublic.model_validate(video))


def record_rendition_events(session: Session, *, video_id: str, job_id: str) -> list[Event]:
    """One ``rendition.ready`` per MP4 quality ``job_id`` published, lowest first."""
    session.flush()
    owner_id = session.execute(
        select(GalleryVideo.owner_id).where(GalleryVideo.id == video_id)).scalar_one()
    assets = sorted(session.execute(
        select(MediaAsset).where(MediaAsset.job_id == job_id, MediaAsset.kind == AssetKind.MP4)
    ).scalars(), key=lambda a: (a.height or 0, a.bitrate or 0))
    return [
        record_event(session, type=EventType.RENDITION_READY, owner_id=owner_id,
                     subject_id=video_id,
                     payload=RenditionPublic(video_id=video_id, job_id=job_id,
                                             **quality_public(asset).model_dump()))
        for asset in assets
    ]
