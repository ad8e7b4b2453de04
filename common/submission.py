"""Job submission: the one way a job comes to exist (gateway POST /api/jobs, gallery
upload confirm with ``process: true``).

Order of operations, so that a job is never lost and never duplicated:
1. insert the QUEUED row (flush, not committed), 2. send the SQS message,
3. commit. If the send fails, the transaction rolls back and nothing exists. If the
commit fails after the send, the message names a job that never existed, and the
worker drops it. A worker that receives the message before the commit is visible
finds no row yet and retries the message shortly (see processor/job_runner.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.errors import Conflict, Invalid
from common.job_state import JobStatus
from common.messages import JobMessage
from common.models import GalleryVideo, Job, VideoStatus

# A source must be confirmed in S3 before it can be processed.
_SUBMITTABLE = {VideoStatus.UPLOADED, VideoStatus.READY, VideoStatus.FAILED}


class SubmissionError(Conflict):
    """The video cannot take a job now (its state, or a job already active)."""


class JobSender(Protocol):
    """All that submission needs of the queue (common.app_state.LazyBroker fits it)."""

    def send(self, message: JobMessage, *, delay_s: int = 0) -> str: ...


@dataclass(frozen=True)
class Submitted:
    job: Job
    created: bool  # False: an earlier request with the same idempotency key made it


def _existing(session: Session, owner_id: str, key: str) -> Job | None:
    return session.execute(
        select(Job).where(Job.owner_id == owner_id, Job.idempotency_key == key)
    ).scalar_one_or_none()


def validate_qualities(qualities: list[str] | None) -> list[str] | None:
    from processor.ladder import QUALITY_NAMES  # the ladder owns the names

    if qualities is None:
        return None
    unknown = [q for q in qualities if q not in QUALITY_NAMES]
    if unknown or not qualities:
        raise Invalid(
            f"unknown qualities {unknown}; choose from {list(QUALITY_NAMES)}"
            if unknown else "qualities must not be empty",
        )
    return sorted(set(qualities), key=list(QUALITY_NAMES).index)


def submit_job(
    session: Session,
    broker: JobSender,
    *,
    video: GalleryVideo,
    owner_id: str,
    qualities: list[str] | None = None,
    priority: int = 0,
    idempotency_key: str | None = None,
) -> Submitted:
    """Create a QUEUED job for ``video`` and enqueue it; commits ``session``."""
    if idempotency_key and (job := _existing(session, owner_id, idempotency_key)):
        return Submitted(job, created=False)
    qualities = validate_qualities(qualities)
    if video.status not in _SUBMITTABLE or not video.source_key or not video.source_bucket:
        raise SubmissionError(f"video is {video.status.value.lower()}; it cannot be processed now")
    active = session.execute(
        select(Job.id).where(Job.video_id == video.id,
                             Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
    ).first()
    if active:
        raise SubmissionError("a job for this video is already queued or running")

    job = Job(
        video_id=video.id,
        owner_id=owner_id,
        qualities=qualities,
        priority=priority,
        idempotency_key=idempotency_key,
        source_duration_s=video.duration_s,
    )
    session.add(job)
    video.status = VideoStatus.PROCESSING
    try:
        session.flush()
    except IntegrityError:
        # A concurrent request with the same idempotency key won the insert.
        session.rollback()
        if idempotency_key and (job := _existing(session, owner_id, idempotency_key)):
            return Submitted(job, created=False)
        raise
    message = JobMessage(
        job_id=job.id,
        video_id=video.id,
        source_bucket=video.source_bucket,
        source_key=video.source_key,
        qualities=qualities,
        priority=priority,
        submitted_at=datetime.now(UTC).isoformat(),
    )
    try:
        broker.send(message)
    except Exception:
        session.rollback()
        raise
    session.commit()
    return Submitted(job, created=True)
