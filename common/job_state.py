"""The job state machine: the only module that changes a job's status.

    QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED
    RUNNING -> QUEUED            (a worker releases the job: shutdown, crash detected)
    QUEUED -> CANCELLED | FAILED (cancelled before it ran; dead-lettered)

Every transition is one conditional UPDATE whose WHERE clause names the state it leaves
(and, for a running job, the worker that owns it). The row count says whether it
happened, so two workers can never both own a job, and a duplicate SQS delivery of a
finished job finds nothing to claim. Callers own the transaction.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session


class JobStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.QUEUED}
    ),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


def _now() -> datetime:
    return datetime.now(UTC)


def _job_model() -> Any:
    # models imports JobStatus from here, so the model is looked up at call time.
    from common.models import Job

    return Job


def _apply(session: Session, where: list[Any], values: dict[str, Any]) -> bool:
    job = _job_model()
    values.setdefault("updated_at", _now())
    result = session.execute(
        update(job).where(*where).values(**values).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def claim(session: Session, *, job_id: str, worker_id: str, stale_after: timedelta) -> bool:
    """QUEUED -> RUNNING for ``worker_id``; also takes over a RUNNING job whose owner
    stopped heart-beating ``stale_after`` ago (a killed worker)."""
    job = _job_model()
    now = _now()
    return _apply(
        session,
        [
            job.id == job_id,
            job.cancel_requested.is_(False),
            or_(
                job.status == JobStatus.QUEUED,
                (job.status == JobStatus.RUNNING) & (job.heartbeat_at < now - stale_after),
            ),
        ],
        {
            "status": JobStatus.RUNNING,
            "worker_id": worker_id,
            "started_at": now,
            "heartbeat_at": now,
            "progress": 0.0,
            "attempts": job.attempts + 1,
        },
    )


def is_stale(job: Any, stale_after: timedelta) -> bool:
    """True if ``job``'s owner has not beaten for ``stale_after`` (presumed dead): the
    same rule :func:`claim` applies in SQL when it takes a running job over."""
    return job.heartbeat_at is None or _now() - job.heartbeat_at > stale_after


@dataclass(frozen=True)
class Heartbeat:
    owned: bool              # False: the job was taken over or finished elsewhere
    cancel_requested: bool   # True: stop the work, publish nothing


def heartbeat(
    session: Session,
    *,
    job_id: str,
    worker_id: str,
    progress: float | None = None,
    encode_speed: float | None = None,
) -> Heartbeat:
    """Record liveness (and progress) of a running job this worker owns."""
    job = _job_model()
    values: dict[str, Any] = {"heartbeat_at": _now()}
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, progress))
    if encode_speed is not None:
        values["encode_speed"] = encode_speed
    owned = _apply(
        session,
        [job.id == job_id, job.status == JobStatus.RUNNING, job.worker_id == worker_id],
        values,
    )
    cancel = session.execute(select(job.cancel_requested).where(job.id == job_id)).scalar()
    return Heartbeat(owned=owned, cancel_requested=bool(cancel))


def release(session: Session, *, job_id: str, worker_id: str) -> bool:
    """RUNNING -> QUEUED: this worker gives the job back (shutdown before finishing)."""
    job = _job_model()
    return _apply(
        session,
        [job.id == job_id, job.status == JobStatus.RUNNING, job.worker_id == worker_id],
        {"status": JobStatus.QUEUED, "worker_id": None, "progress": 0.0},
    )


def succeed(
    session: Session, *, job_id: str, worker_id: str, instance_seconds: float | None = None
) -> bool:
    """RUNNING -> SUCCEEDED, unless the job was cancelled meanwhile."""
    job = _job_model()
    return _apply(
        session,
        [
            job.id == job_id,
            job.status == JobStatus.RUNNING,
            job.worker_id == worker_id,
            job.cancel_requested.is_(False),
        ],
        {
            "status": JobStatus.SUCCEEDED,
            "progress": 1.0,
            "finished_at": _now(),
            "error": None,
            "instance_seconds": instance_seconds,
        },
    )


def fail(session: Session, *, job_id: str, reason: str, worker_id: str | None = None) -> bool:
    """-> FAILED with a reason. A worker fails only a job it owns; without ``worker_id``
    (the dead-letter path) any unfinished job fails."""
    job = _job_model()
    where = [job.id == job_id]
    if worker_id is None:
        where.append(job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
    else:
        where += [job.status == JobStatus.RUNNING, job.worker_id == worker_id]
    return _apply(session, where, {"status": JobStatus.FAILED, "error": reason[:2000],
                                   "finished_at": _now()})


def request_cancel(session: Session, *, job_id: str) -> JobStatus | None:
    """Cancel a job: a QUEUED one is CANCELLED at once and never runs; a RUNNING one is
    flagged, and its worker stops FFmpeg and moves it to CANCELLED. Returns the status
    the job is in (or heading to), None for an unknown job."""
    job = _job_model()
    if _apply(
        session,
        [job.id == job_id, job.status == JobStatus.QUEUED],
        {"status": JobStatus.CANCELLED, "cancel_requested": True, "finished_at": _now()},
    ):
        return JobStatus.CANCELLED
    if _apply(
        session,
        [job.id == job_id, job.status == JobStatus.RUNNING],
        {"cancel_requested": True},
    ):
        return JobStatus.CANCELLED
    status = session.execute(select(job.status).where(job.id == job_id)).scalar()
    return JobStatus(status) if status is not None else None


def mark_cancelled(session: Session, *, job_id: str, worker_id: str) -> bool:
    """RUNNING -> CANCELLED by the worker that stopped the work."""
    job = _job_model()
    return _apply(
        session,
        [job.id == job_id, job.status == JobStatus.RUNNING, job.worker_id == worker_id],
        {"status": JobStatus.CANCELLED, "finished_at": _now()},
    )
