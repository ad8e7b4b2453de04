"""The database schema: gallery_videos, jobs and media_assets (SQLAlchemy 2).

Alembic migrations under ``common/migrations`` create these tables; keep both in step.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from common.assets import AssetKind
from common.error_codes import ErrorCode
from common.statuses import ACTIVE, JobStatus, VideoStatus

# Re-exported: many callers name them from here; they are defined without the ORM.
__all__ = ["AssetKind", "JobStatus", "VideoStatus"]


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend: SQLite keeps no offset, so what it
    returns would be naive and could not be compared with ``utcnow()``."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and not value.tzinfo else value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON}


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


def _enum(cls: type[enum.Enum], name: str, length: int = 16) -> Enum:
    # Stored as plain strings (no native PG enum) so adding a member needs no migration.
    return Enum(cls, name=name, native_enum=False, length=length,
                values_callable=lambda members: [m.value for m in members])


def _active_jobs() -> Any:
    """The partial index's condition, the same SQL on PostgreSQL and SQLite."""
    return text("status IN ({})".format(", ".join(f"'{s.value}'" for s in ACTIVE)))


class GalleryVideo(Base):
    __tablename__ = "gallery_videos"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(String(128), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[Visibility] = mapped_column(
        _enum(Visibility, "visibility"), default=Visibility.PRIVATE
    )
    status: Mapped[VideoStatus] = mapped_column(
        _enum(VideoStatus, "video_status"), default=VideoStatus.UPLOADING, index=True
    )
    filename: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str | None] = mapped_column(String(128))
    source_bucket: Mapped[str | None] = mapped_column(String(255))
    source_key: Mapped[str | None] = mapped_column(String(1024))
    source_size: Mapped[int | None] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    view_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # The job whose assets are published; a re-run publishes under a new job id.
    current_job_id: Mapped[str | None] = mapped_column(String(36))
    # Goes up when the visibility changes: HLS playback grants carry the epoch they were
    # issued at, so grants from before the change are refused (streaming/grants.py).
    grant_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # On PostgreSQL the table also has `search_vector`, a stored tsvector generated from
    # title and description with a GIN index (migration 0002), used by gallery search.
    # Not mapped: SQLite has no such column, and nothing writes it.

    # Gallery search sorted by views or title walks these instead of sorting every match:
    # a common word matches a fifth of the catalogue (migration 0010).
    __table_args__ = (
        Index("ix_gallery_videos_view_count_id", "view_count", "id"),
        Index("ix_gallery_videos_title_id", "title", "id"),
    )


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("owner_id", "idempotency_key", name="uq_jobs_owner_idempotency"),
        Index("ix_jobs_status_created", "status", "created_at"),
        # The scheduler's order among queued jobs (common/scheduler.py).
        Index("ix_jobs_status_priority_created", "status", "priority", "created_at"),
        # Fair share: an owner's last start (common/scheduler.py).
        Index("ix_jobs_owner_started", "owner_id", "started_at"),
        # One active job per video: concurrent submits cannot both insert (migration 0003).
        Index("uq_jobs_active_video", "video_id", unique=True,
              postgresql_where=_active_jobs(), sqlite_where=_active_jobs()),
        # Usage over a period (gateway/usage.py): one owner's, and everyone's (0005).
        Index("ix_jobs_owner_finished", "owner_id", "finished_at"),
        Index("ix_jobs_finished", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # None once its video is deleted: the job row stays, so what it cost still counts in
    # its owner's usage (migration 0009).
    video_id: Mapped[str | None] = mapped_column(
        ForeignKey("gallery_videos.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[JobStatus] = mapped_column(
        _enum(JobStatus, "job_status"), default=JobStatus.QUEUED
    )
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # None means "every quality the source allows".
    qualities: Mapped[list[str] | None] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    encode_speed: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)  # a short human reason
    error_code: Mapped[ErrorCode | None] = mapped_column(_enum(ErrorCode, "error_code", 32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # Estimated seconds of encode work (for the autoscaler's `work` policy).
    source_duration_s: Mapped[float | None] = mapped_column(Float)
    estimated_work_s: Mapped[float | None] = mapped_column(Float)
    # Measured instance-seconds spent on this job (cost per transcoded minute).
    instance_seconds: Mapped[float | None] = mapped_column(Float)
    # Bytes of the assets it published (what storage costs per month; common/costs.py).
    stored_bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # A retried job is not runnable before this (its backoff); None: at once.
    not_before: Mapped[datetime | None] = mapped_column()
    # The SQS message id of the wake-up token the job was last claimed under: how the
    # dead-letter sweep finds the job a dead-lettered token carried (migration 0005).
    claim_token: Mapped[str | None] = mapped_column(String(128), index=True)
    # A long source's job runs as tasks (the Task rows below, issue 10): its row stays
    # RUNNING while they do, is never claimed as a whole again, and ends with its stitch.
    chunked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class MediaAsset(Base):
    __tablename__ = "media_assets"
    __table_args__ = (
        UniqueConstraint("job_id", "kind", "quality", name="uq_media_assets_job_kind_quality"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    video_id: Mapped[str] = mapped_column(
        ForeignKey("gallery_videos.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AssetKind] = mapped_column(_enum(AssetKind, "asset_kind"))
    # "480p" … "2160p" for per-quality assets, "" for the rest (keeps the unique key total).
    quality: Mapped[str] = mapped_column(String(16), default="")
    bucket: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str] = mapped_column(String(128))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    bitrate: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Events outbox and webhooks (common/events.py writes events; notifier/ delivers) ---


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"        # waiting for its next attempt (or its first)
    SUCCEEDED = "succeeded"    # the endpoint answered 2xx
    FAILED = "failed"          # gave up: the retry horizon passed, or the endpoint was deleted


class Event(Base):
    """One state change a caller cares about, written in the transaction that made it."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # "evt_" + 32 hex
    type: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str] = mapped_column(String(128), index=True)
    subject_id: Mapped[str] = mapped_column(String(36), index=True)
    # The exact bytes every delivery of this event sends (envelope + data), so a retry
    # or a redelivery is byte-for-byte the same event.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Set when a notifier has fanned the event out into deliveries (exactly once).
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(String(128), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(64))
    # After a rotation the old secret keeps signing (beside the new one) until it expires,
    # so receivers can switch without dropping a delivery.
    previous_secret: Mapped[str | None] = mapped_column(String(64))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column()
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """One event to one endpoint: its status and the outcome of its last attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_deliveries_event_endpoint"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When a notifier may next take it. A claim pushes this forward by a lease, so a
    # delivery whose notifier died comes due again by itself.
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    # Retries stop here (24 h after the delivery was created or resent).
    give_up_at: Mapped[datetime] = mapped_column()
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskKind(enum.StrEnum):
    CHUNK = "chunk"    # the whole ladder for one time range of the source
    AUDIO = "audio"    # the audio, once for the whole source
    STITCH = "stitch"  # joins, packages, publishes: runnable once every other task is done


class Task(Base):
    """One unit of a chunked job (processor/chunking/, common/task_state.py). Priority,
    owner and age are its job's: the scheduler joins them, nothing is copied."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("job_id", "seq", name="uq_tasks_job_seq"),
        Index("ix_tasks_status_job", "status", "job_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[TaskKind] = mapped_column(_enum(TaskKind, "task_kind"))
    seq: Mapped[int] = mapped_column(Integer)  # order within the job: audio, chunks, stitch
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "task_status"),
                                              default=JobStatus.QUEUED)
    # What the task does (a chunk's index and range, object keys), for its worker.
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    not_before: Mapped[datetime | None] = mapped_column()
    # The wake-up token it was last claimed under (dead-letter sweep), like jobs'.
    claim_token: Mapped[str | None] = mapped_column(String(128), index=True)
    # Seconds of 1080p encoding (the autoscaler's unit); the job's progress is its tasks'
    # progress weighted by this.
    estimated_work_s: Mapped[float | None] = mapped_column(Float)
    instance_seconds: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[ErrorCode | None] = mapped_column(_enum(ErrorCode, "error_code", 32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
