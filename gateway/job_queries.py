"""Reading jobs for the API: who may see one, and where it is in the queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from common.auth import Principal
from common.http import not_found
from common.job_state import JobStatus
from common.models import Job
from gateway.schemas import JobPublic, JobTimings


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    return round(((end or datetime.now(UTC)) - start).total_seconds(), 3)


def queue_position(session: Session, job: Job) -> int | None:
    """Queued jobs that run before ``job``: higher priority first, then oldest first."""
    if job.status != JobStatus.QUEUED:
        return None
    ahead = or_(
        Job.priority > job.priority,
        and_(Job.priority == job.priority,
             or_(Job.created_at < job.created_at,
                 and_(Job.created_at == job.created_at, Job.id < job.id))),
    )
    count = session.execute(
        select(func.count()).select_from(Job).where(Job.status == JobStatus.QUEUED, ahead)
    ).scalar_one()
    return int(count)


def job_public(session: Session, job: Job) -> JobPublic:
    return JobPublic(
        id=job.id, video_id=job.video_id, owner_id=job.owner_id, status=job.status,
        progress=job.progress, encode_speed=job.encode_speed, error=job.error,
        error_code=job.error_code,
        priority=job.priority, qualities=job.qualities, attempts=job.attempts,
        cancel_requested=job.cancel_requested, queue_position=queue_position(session, job),
        timings=JobTimings(
            created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
            wait_s=_seconds(job.created_at, job.started_at) if job.started_at else None,
            run_s=_seconds(job.started_at, job.finished_at),
        ),
    )


def _parse_id(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def find_job(session: Session, job_id: str, user: Principal) -> Job:
    """The job, if ``user`` may see it; 404 otherwise (malformed ids included)."""
    parsed = _parse_id(job_id)
    job = session.get(Job, parsed) if parsed else None
    if job is None or not (user.is_admin or job.owner_id == user.user_id):
        raise not_found("job")
    return job
