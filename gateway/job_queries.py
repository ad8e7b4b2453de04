"""Reading jobs for the API: who may see one, and where it is in the queue."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from common.auth import Principal
from common.http import not_found
from common.job_view import job_public, job_publics, queue_position
from common.models import Job


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


__all__ = ["find_job", "job_public", "job_publics", "queue_position"]
