"""Job submission: the one way a job comes to exist (gateway POST /api/jobs, gallery
upload confirm with ``process: true``).

Order of operations, so that a job is never lost and never duplicated:
1. insert the QUEUED row (flush, not committed), 2. send a wake-up token,
3. commit. If the send fails, the transaction rolls back and nothing exists. If the
commit fails after the send, the token finds nothing to claim and is dropped. A worker
that receives the token before the commit is visible finds nothing yet and looks again
shortly (see processor/job_runner.py). The token names no job: workers claim the best
runnable one (common/scheduler.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common import job_state
from common import qualities as quality_names
from common.errors import Conflict, Invalid
from common.messages import WakeUp
from common.models import GalleryVideo, Job
from common.statuses import ACTIVE


class SubmissionError(Conflict):
    """The video cannot take a job now (its state, or a job already active)."""


class JobSender(Protocol):
    """All that submission needs of the queue (common.app_state.LazyBroker fits it)."""

    def send(self, message: WakeUp, *, delay_s: int = 0) -> str: ...


@dataclass(frozen=True)
class Submitted:
    job: Job
    created: bool  # False: an earlier request with the same idempotency key made it


def _existing(session: Session, owner_id: str, key: str) -> Job | None:
    return session.execute(
        select(Job).where(Job.owner_id == owner_id, Job.idempotency_key == key)
    ).scalar_one_or_none()


def validate_qualities(qualities: list[str] | None) -> list[str] | None:
    """Canonical quality names (aliases such as 4k accepted), or None for "all"."""
    if qualities is None:
        return None
    try:
        return quality_names.normalize(qualities)
    except quality_names.UnknownQuality as exc:
        raise Invalid(str(exc)) from None


def estimated_work_s(video: GalleryVideo, qualities: list[str] | None) -> float | None:
    """Source seconds × the work factor of the qualities the job will make (1080p = 1.0):
    work in seconds of 1080p encoding. None until a probe has measured the duration."""
    if not video.duration_s:
        return None
    names = qualities or quality_names.fitting(video.width, video.height)
    return round(video.duration_s * quality_names.work_factor(names), 3)


def _refused(session: Session, video: GalleryVideo) -> SubmissionError:
    """Why ``video`` cannot take a job now, read after the conditional update said no."""
    active = session.execute(
        select(Job.id).where(Job.video_id == video.id, Job.status.in_(ACTIVE))
    ).first()
    if active:
        return SubmissionError("a job for this video is already queued or running")
    session.refresh(video)
    return SubmissionError(f"video is {video.status.value.lower()}; it cannot be processed now")


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
    job = Job(
        video_id=video.id,
        owner_id=owner_id,
        qualities=qualities,
        priority=priority,
        idempotency_key=idempotency_key,
        source_duration_s=video.duration_s,
        estimated_work_s=estimated_work_s(video, qualities),
    )
    try:
        if not job_state.enqueue(session, job=job):
            raise _refused(session, video)
    except IntegrityError:
        # A concurrent request won the insert: the same idempotency key (a replay), or
        # another job for this video (one active job per video is a unique index).
        session.rollback()
        if idempotency_key and (job := _existing(session, owner_id, idempotency_key)):
            return Submitted(job, created=False)
        raise _refused(session, video) from None
    try:
        broker.send(WakeUp(reason="submitted"))
    except Exception:
        session.rollback()
        raise
    session.commit()
    return Submitted(job, created=True)
