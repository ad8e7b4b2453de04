"""Job routes: submit, status, my jobs, cancel, and live progress events.

Someone else's job is 404 to you (its existence is not yours to know); the Cognito
group ``admin`` may see and cancel every job.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import and_, or_, select

from common import job_state
from common.access import managed_video
from common.http import ApiError, error_responses, not_found
from common.job_state import CancelOutcome, JobStatus
from common.logging import bound, get_logger
from common.models import Job
from common.submission import submit_job
from gateway.deps import BrokerDep, CurrentUser, RouteSessionDep, SessionDep, StateDep
from gateway.job_events import job_event_stream
from gateway.job_queries import find_job, job_public, job_publics
from gateway.pagination import Cursor
from gateway.schemas import JobCreate, JobEvent, JobLifecycle, JobPage, JobPublic

log = get_logger(__name__)
router = APIRouter(prefix="/api/jobs", tags=["jobs"])

MAX_PAGE = 100
# The jobs.idempotency_key column is 128 characters; visible ASCII only.
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=128, pattern=r"^[!-~]+$",
           description="Retrying with the same key returns the first job instead of a new one."),
]

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
    submitted = submit_job(
        session, broker, video=video, owner_id=video.owner_id, qualities=body.qualities,
        priority=body.priority, idempotency_key=idempotency_key,
    )
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
        items=job_publics(session, rows),
        next_cursor=Cursor(rows[-1].created_at, rows[-1].id).encode() if more else None,
    )


@router.get("/lifecycle", response_model=JobLifecycle,
            responses=error_responses(400, 401, 422, 429))
def job_lifecycle(user: CurrentUser) -> JobLifecycle:
    """Every job status, the terminal ones (a job in one never changes again), and the
    event types of ``/api/jobs/{id}/events``: clients read these rather than copy them."""
    return JobLifecycle()


@router.get("/{job_id}", response_model=JobPublic, responses=_JOB_ERRORS)
def get_job(job_id: str, user: CurrentUser, session: SessionDep) -> JobPublic:
    """Status, progress, error, timings, and the queue position while queued."""
    return job_public(session, find_job(session, job_id, user))


@router.delete("/{job_id}", response_model=JobPublic,
               responses={**_JOB_ERRORS, **error_responses(409)})
def cancel_job(job_id: str, user: CurrentUser, session: SessionDep) -> JobPublic:
    """Cancel a job: a queued job never runs; a running job's worker stops FFmpeg and
    publishes nothing (``cancel_requested`` is true until it has)."""
    job = find_job(session, job_id, user)
    outcome = job_state.request_cancel(session, job_id=job.id)
    session.commit()
    with bound(job_id=job.id):
        log.info("job_cancel_requested", outcome=outcome.value,
                 by_admin=user.user_id != job.owner_id)
    if outcome == CancelOutcome.NOT_FOUND:  # deleted with its video meanwhile
        raise not_found("job")
    session.refresh(job)
    if outcome == CancelOutcome.FINISHED:
        raise ApiError(409, f"the job already finished ({job.status.value})")
    return job_public(session, job)


# One server-sent event: ``event`` names it; ``data`` is JSON: a JobPublic for progress and
# done, ``{"id"}`` for gone and timeout.
_SSE_EVENT = {
    "type": "object",
    "properties": {"event": {"type": "string", "enum": [e.value for e in JobEvent]},
                   "data": {"type": "string", "contentMediaType": "application/json"}},
    "required": ["event", "data"],
}


@router.get(
    "/{job_id}/events", response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": _SSE_EVENT}},
                     "description": "Server-sent events: `progress` on every change, then "
                                    "one last event: `done` with the finished job, `gone` "
                                    "when the job's video was deleted, or `timeout` "
                                    "(reconnect to go on watching)."},
               **_JOB_ERRORS},
)
def job_events(
    job_id: str, user: CurrentUser, session: RouteSessionDep, ctx: StateDep,
) -> StreamingResponse:
    """Live progress of a job as server-sent events, until it finishes."""
    job = find_job(session, job_id, user)
    # The stream reads with short sessions of its own (in the same budget); the route's
    # session is given back when this function returns (RouteSessionDep).
    slot = ctx.streams.take(user.user_id)  # 429/503 past the caps
    return StreamingResponse(
        job_event_stream(ctx, job.id, snapshot=job_public, slot=slot),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
