"""Job routes: submit, status, my jobs, cancel, and live progress events.

Someone else's job is 404 to you (its existence is not yours to know); the Cognito
group ``admin`` may see and cancel every job.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from common import job_state
from common.access import managed_video
from common.auth import Principal
from common.http import ApiError, error_responses, not_found
from common.job_state import JobStatus
from common.logging import bound, get_logger
from common.models import GalleryVideo, Job, VideoStatus
from common.submission import SubmissionError, submit_job
from gateway.deps import BrokerDep, ContextDep, CurrentUser, SessionDep
from gateway.job_events import job_event_stream
from gateway.pagination import Cursor

log = get_logger(__name__)
router = APIRouter(prefix="/api/jobs", tags=["jobs"])

MAX_PRIORITY = 9
MAX_PAGE = 100
# The jobs.idempotency_key column is 128 characters; visible ASCII only.
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=128, pattern=r"^[!-~]+$",
           description="Retrying with the same key returns the first job instead of a new one."),
]


class JobCreate(BaseModel):
    video_id: uuid.UUID
    qualities: list[str] | None = Field(
        default=None, min_length=1, max_length=8,
        description="Qualities to produce (e.g. 480p, 720p); default: all the source allows.",
    )
    priority: int = Field(default=0, ge=0, le=MAX_PRIORITY,
                          description="Higher runs first among queued jobs.")


class JobTimings(BaseModel):
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    wait_s: float | None = Field(description="Seconds from submission to the (last) start.")
    run_s: float | None = Field(description="Seconds running, so far or in total.")


class JobPublic(BaseModel):
    id: str
    video_id: str
    owner_id: str
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    encode_speed: float | None
    error: str | None
    priority: int
    qualities: list[str] | None
    attempts: int
    cancel_requested: bool
    queue_position: int | None = Field(
        description="Queued jobs ahead of this one (0: next); null unless QUEUED.")
    timings: JobTimings


class JobPage(BaseModel):
    items: list[JobPublic]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


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


# Besides its own, every route can answer 400 (a body that does not parse), 422 (invalid
# parameters) and 429 (the rate limiter).
_JOB_ERRORS = error_responses(400, 401, 404, 422, 429)


@router.post(
    "", status_code=201, response_model=JobPublic,
    responses={200: {"model": JobPublic, "description": "Replayed: the job an earlier "
                     "request with this Idempotency-Key created"},
               **error_responses(400, 401, 403, 404, 409, 422, 429, 503)},
)
def create_job(
    body: JobCreate, user: CurrentUser, session: SessionDep, broker: BrokerDep,
    response: Response, idempotency_key: IdempotencyKey = None,
) -> JobPublic:
    """Queue a transcode of one of your uploaded videos."""
    video = managed_video(session, video_id=str(body.video_id), principal=user)
    try:
        submitted = submit_job(
            session, broker, video=video, owner_id=video.owner_id, qualities=body.qualities,
            priority=body.priority, idempotency_key=idempotency_key,
        )
    except SubmissionError as exc:
        raise ApiError(exc.status_code, str(exc)) from None
    except (BotoCoreError, ClientError) as exc:
        log.warning("job_enqueue_failed", video_id=video.id, error_type=type(exc).__name__)
        raise ApiError(503, "the job queue is unavailable; nothing was queued") from None
    job = submitted.job
    if not submitted.created and job.video_id != video.id:
        raise ApiError(409, "this Idempotency-Key was used for another video",
                       code="idempotency_key_reused")
    response.headers["Location"] = f"/api/jobs/{job.id}"
    if not submitted.created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    with bound(job_id=job.id, video_id=video.id):
        log.info("job_submitted", created=submitted.created, priority=job.priority)
    return job_public(session, job)


@router.get("", response_model=JobPage, responses=error_responses(400, 401, 403, 422, 429))
def list_jobs(
    user: CurrentUser, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, pattern=r"^[A-Za-z0-9_-]+$",
                                        description="next_cursor of the previous page")] = None,
    status: JobStatus | None = None,
    video_id: uuid.UUID | None = None,
    all_users: Annotated[bool, Query(alias="all", description="admins: everyone's jobs")] = False,
) -> JobPage:
    """Your jobs, newest first, a page at a time."""
    query = select(Job)
    if all_users and not user.is_admin:
        raise ApiError(403, "only admins can list everyone's jobs")
    if not all_users:
        query = query.where(Job.owner_id == user.user_id)
    if status is not None:
        query = query.where(Job.status == status)
    if video_id is not None:
        query = query.where(Job.video_id == str(video_id))
    if cursor:
        after = Cursor.decode(cursor)
        query = query.where(or_(Job.created_at < after.created_at,
                                and_(Job.created_at == after.created_at, Job.id < after.id)))
    rows = list(session.execute(
        query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
    ).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return JobPage(
        items=[job_public(session, job) for job in rows],
        next_cursor=Cursor(rows[-1].created_at, rows[-1].id).encode() if more else None,
    )


@router.get("/{job_id}", response_model=JobPublic, responses=_JOB_ERRORS)
def get_job(job_id: str, user: CurrentUser, session: SessionDep) -> JobPublic:
    """Status, progress, error, timings, and the queue position while queued."""
    return job_public(session, find_job(session, job_id, user))


def _settle_video(session: Session, job: Job) -> None:
    """A job cancelled before it ran leaves its video as it was before submission."""
    video = session.get(GalleryVideo, job.video_id)
    if video is None or video.status != VideoStatus.PROCESSING:
        return
    active = session.execute(
        select(Job.id).where(Job.video_id == video.id,
                             Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
    ).first()
    if not active:
        video.status = VideoStatus.READY if video.current_job_id else VideoStatus.UPLOADED


@router.delete("/{job_id}", response_model=JobPublic,
               responses={**_JOB_ERRORS, **error_responses(409)})
def cancel_job(job_id: str, user: CurrentUser, session: SessionDep) -> JobPublic:
    """Cancel a job: a queued job never runs; a running job's worker stops FFmpeg and
    publishes nothing (``cancel_requested`` is true until it has)."""
    job = find_job(session, job_id, user)
    if job.status.is_terminal:
        raise ApiError(409, f"the job already finished ({job.status.value})")
    was = job.status
    outcome = job_state.request_cancel(session, job_id=job.id)
    session.expire(job)
    if was == JobStatus.QUEUED and outcome == JobStatus.CANCELLED:
        _settle_video(session, job)
    session.commit()
    with bound(job_id=job.id):
        log.info("job_cancel_requested", was=was.value, by_admin=user.user_id != job.owner_id)
    session.refresh(job)
    if job.status.is_terminal and job.status != JobStatus.CANCELLED:
        raise ApiError(409, f"the job already finished ({job.status.value})")
    return job_public(session, job)


# One server-sent event: ``event`` names it, ``data`` is a JobPublic as JSON.
_SSE_EVENT = {
    "type": "object",
    "properties": {"event": {"type": "string", "enum": ["progress", "done", "timeout"]},
                   "data": {"type": "string", "contentMediaType": "application/json"}},
    "required": ["event", "data"],
}


@router.get(
    "/{job_id}/events", response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": _SSE_EVENT}},
                     "description": "Server-sent events: `progress` on every change, then "
                                    "one `done` with the final job (or `timeout`)."},
               **_JOB_ERRORS},
)
def job_events(
    job_id: str, user: CurrentUser, session: SessionDep, ctx: ContextDep,
) -> StreamingResponse:
    """Live progress of a job as server-sent events, until it finishes."""
    job = find_job(session, job_id, user)
    return StreamingResponse(
        job_event_stream(ctx, job.id, snapshot=job_public),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
