"""A job as callers see it: the body of ``GET /api/jobs/{id}`` and of every ``job.*`` event.

It lives in common because the gateway answers with it and the processor's transitions
write it into the events outbox; neither may import the other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from common.cost_view import CostPublic, job_cost
from common.costs import Prices, configured_prices
from common.error_codes import ErrorCode
from common.models import Job
from common.queue_order import queue_position as scheduler_position
from common.queue_order import queue_positions
from common.statuses import JobStatus


class JobTimings(BaseModel):
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    wait_s: float | None = Field(description="Seconds from submission to the (last) start.")
    run_s: float | None = Field(description="Seconds running, so far or in total.")


class JobPublic(BaseModel):
    id: str
    video_id: str | None = Field(description="Null once the video is deleted: the job stays, "
                                             "as what it cost does in usage.")
    owner_id: str
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    encode_speed: float | None
    error: str | None = Field(description="Why it failed, one sentence for people.")
    error_code: ErrorCode | None = Field(
        description="Why it failed, as a stable code to branch on; null unless FAILED.")
    priority: int
    qualities: list[str] | None
    attempts: int
    cancel_requested: bool
    queue_position: int | None = Field(
        description="Jobs and chunk tasks the scheduler runs before this one (0: next): "
                    "higher priority first, then fair share between users, then the oldest; "
                    "for a RUNNING chunked job, before its next waiting task (0 once all "
                    "run); null otherwise. An estimate: see common/queue_order.py.")
    timings: JobTimings
    cost: CostPublic | None = Field(
        description="What its worker time and stored assets cost at the configured prices "
                    "(VF_PRICE_*); null until a worker has recorded its time.")


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    return round(((end or datetime.now(UTC)) - start).total_seconds(), 3)


def has_position(job: Job) -> bool:
    """Whether ``job`` may have a queue position: QUEUED, or a RUNNING chunked job."""
    return job.status == JobStatus.QUEUED or (job.status == JobStatus.RUNNING and job.chunked)


def queue_position(session: Session, job: Job) -> int | None:
    """Where ``job`` (or, a running chunked one, its next task) stands in the scheduler's
    order (0: next), else None."""
    if not has_position(job):
        return None
    return scheduler_position(session, job.id)


_UNSET: Any = object()


def job_public(session: Session, job: Job, *, prices: Prices | None = None,
               position: int | None = _UNSET) -> JobPublic:
    """The job as the API shows it; ``position`` when the caller knows it already (a page
    computes every position in one query: ``job_publics``)."""
    if position is _UNSET:
        position = queue_position(session, job)
    return JobPublic(
        id=job.id, video_id=job.video_id, owner_id=job.owner_id, status=job.status,
        progress=job.progress, encode_speed=job.encode_speed, error=job.error,
        error_code=job.error_code,
        priority=job.priority, qualities=job.qualities, attempts=job.attempts,
        cancel_requested=job.cancel_requested, queue_position=position,
        timings=JobTimings(
            created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
            wait_s=_seconds(job.created_at, job.started_at) if job.started_at else None,
            run_s=_seconds(job.started_at, job.finished_at),
        ),
        cost=job_cost(instance_seconds=job.instance_seconds, stored_bytes=job.stored_bytes,
                      source_duration_s=job.source_duration_s
                      if job.status == JobStatus.SUCCEEDED else None,
                      prices=prices or configured_prices()),
    )


def job_publics(session: Session, jobs: list[Job], *,
                prices: Prices | None = None) -> list[JobPublic]:
    """A page of jobs, with every queue position from one query."""
    positions = queue_positions(session, [j.id for j in jobs if has_position(j)])
    return [job_public(session, job, prices=prices, position=positions.get(job.id))
            for job in jobs]
