"""The job state machine: the only module that changes a job's status.

    QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED
    RUNNING -> QUEUED            (a worker releases the job: shutdown, transient fault)
    QUEUED -> CANCELLED | FAILED (cancelled before it ran; dead-lettered)

Every transition is one conditional UPDATE whose WHERE clause names the state it leaves
(and, for a running job, the worker that owns it, or that its owner is presumed dead). The
row count says whether it happened, so two workers can never both own a job, and a
duplicate SQS delivery of a finished job finds nothing to claim.

Each function is one event of a job's life: what else that event changes happens inside
it, in the caller's transaction — the video's status (``common/video_state.py``) and the
outbox rows (``common/events.py``: job.queued, job.succeeded, rendition.ready,
video.ready, job.failed, job.cancelled), written only when the UPDATE matched. So a
caller makes one call per event and never pairs a job change with a video change or an
event by hand. Callers own the transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from common import events, scheduler, task_state, video_state
from common.error_codes import ErrorCode
from common.events import EventType
from common.models import GalleryVideo, Job, MediaAsset
from common.scheduler import abandoned, runnable
from common.statuses import ACTIVE, TERMINAL, JobStatus
from common.video_state import SourceFacts

__all__ = ["ACTIVE", "TERMINAL", "CancelOutcome", "JobStatus", "SourceFacts", "abandoned"]

# job.error is a sentence for people; longer text is cut (details belong in the logs).
_MAX_REASON = 500


def _now() -> datetime:
    return datetime.now(UTC)


def _owned_by(worker_id: str, *, chunked: bool = False) -> list[ColumnElement[bool]]:
    """A running job this worker owns; or, ``chunked``, a running chunked job, which no
    worker owns: the caller owns one of its tasks (``common.task_state`` checks that in
    the same transaction)."""
    if chunked:
        return list(_CHUNKED_RUNNING)
    return [Job.status == JobStatus.RUNNING, Job.worker_id == worker_id]


_CHUNKED_RUNNING = (Job.status == JobStatus.RUNNING, Job.chunked.is_(True))


def _apply(session: Session, where: list[Any], values: dict[str, Any]) -> bool:
    values.setdefault("updated_at", _now())
    result = session.execute(
        update(Job).where(*where).values(**values).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _video_of(session: Session, job_id: str) -> str | None:
    return session.execute(select(Job.video_id).where(Job.id == job_id)).scalar()


# --- creation and the worker's claim ------------------------------------------------------

def enqueue(session: Session, *, job: Job) -> bool:
    """-> QUEUED: insert ``job`` (not yet flushed) and move its video to PROCESSING.

    False, with nothing written, when the video cannot be processed now (not confirmed, or
    gone). A second active job for the video fails the insert with IntegrityError (the
    partial unique index), as does a reused idempotency key."""
    if not video_state.start_processing(session, video_id=job.video_id):
        return False
    job.status = JobStatus.QUEUED
    session.add(job)
    session.flush()
    events.record_job_event(session, EventType.JOB_QUEUED, job_id=job.id)
    return True


def _take(session: Session, *, job_id: str, worker_id: str, stale_after: timedelta,
          token_id: str | None) -> bool:
    now = _now()
    return _apply(
        session, [Job.id == job_id, runnable(stale_after, now=now)],
        {"status": JobStatus.RUNNING, "worker_id": worker_id, "started_at": now,
         "heartbeat_at": now, "progress": 0.0, "attempts": Job.attempts + 1,
         "not_before": None, "claim_token": token_id},
    )


def claim(session: Session, *, job_id: str, worker_id: str, stale_after: timedelta,
          token_id: str | None = None) -> bool:
    """This job, if it is runnable, -> RUNNING for ``worker_id``: a QUEUED one, or a
    RUNNING one whose owner stopped heart-beating ``stale_after`` ago (a killed worker)."""
    return _take(session, job_id=job_id, worker_id=worker_id, stale_after=stale_after,
                 token_id=token_id)


@dataclass(frozen=True)
class Claimed:
    """What a worker needs of the job it claimed, read from the rows, never a message."""

    job_id: str
    video_id: str
    owner_id: str
    qualities: list[str] | None
    attempts: int
    created_at: datetime
    source_bucket: str
    source_key: str
    # A chunked job's task (its chunk, audio or stitch); None: the job as a whole.
    task: task_state.TaskClaim | None = None


# Two workers racing for the same best job: the loser picks again, this many times.
_CLAIM_TRIES = 5


def claim_next(session: Session, *, worker_id: str, stale_after: timedelta,
               token_id: str | None = None, chunk_hold: timedelta | None = None
               ) -> Claimed | None:
    """The best runnable unit (common/scheduler.py: a job, or a task of a chunked job,
    with the chunk hold if given) -> RUNNING for ``worker_id``, claimed under the wake-up
    token ``token_id``; None when nothing is runnable."""
    for _ in range(_CLAIM_TRIES):
        unit = scheduler.best_unit(session, stale_after=stale_after, chunk_hold=chunk_hold)
        if unit is None:
            return None
        if unit.kind == scheduler.TASK:
            task = task_state.claim(session, task_id=unit.id, worker_id=worker_id,
                                    stale_after=stale_after, token_id=token_id)
            if task is not None:
                return _claimed(session, unit.job_id, task)
        elif _take(session, job_id=unit.id, worker_id=worker_id, stale_after=stale_after,
                   token_id=token_id):
            return _claimed(session, unit.job_id, None)
    return None


def _claimed(session: Session, job_id: str, task: task_state.TaskClaim | None) -> Claimed:
    row = session.execute(
        select(Job.video_id, Job.owner_id, Job.qualities, Job.attempts, Job.created_at,
               GalleryVideo.source_bucket, GalleryVideo.source_key)
        .join(GalleryVideo, GalleryVideo.id == Job.video_id).where(Job.id == job_id)
    ).one()
    return Claimed(job_id, row.video_id, row.owner_id, row.qualities, row.attempts,
                   row.created_at, row.source_bucket or "", row.source_key or "", task)


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
    values: dict[str, Any] = {"heartbeat_at": _now()}
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, progress))
    if encode_speed is not None:
        values["encode_speed"] = encode_speed
    owned = _apply(session, [Job.id == job_id, *_owned_by(worker_id)], values)
    cancel = session.execute(select(Job.cancel_requested).where(Job.id == job_id)).scalar()
    return Heartbeat(owned=owned, cancel_requested=bool(cancel))


def _spent(seconds: float | None) -> dict[str, Any]:
    """Instance time adds up over attempts: a released or failed attempt cost it too."""
    if seconds is None:
        return {}
    return {"instance_seconds": func.coalesce(Job.instance_seconds, 0.0) + seconds}


def release(session: Session, *, job_id: str, worker_id: str,
            not_before: datetime | None = None, spent_s: float | None = None) -> bool:
    """RUNNING -> QUEUED: this worker gives the job back (shutdown; or a fault to retry,
    runnable again from ``not_before``)."""
    return _apply(session, [Job.id == job_id, *_owned_by(worker_id)],
                  {"status": JobStatus.QUEUED, "worker_id": None, "progress": 0.0,
                   "not_before": not_before, **_spent(spent_s)})


# --- endings ------------------------------------------------------------------------------

class VideoGone(Exception):
    """The job's video disappeared before its publish committed; roll the publish back."""


def succeed(
    session: Session,
    *,
    job_id: str,
    worker_id: str,
    assets: Sequence[MediaAsset] = (),
    source: SourceFacts = SourceFacts(),  # noqa: B008 (frozen: safe to share)
    instance_seconds: float | None = None,
    encode_speed: float | None = None,
    chunked: bool = False,
) -> bool:
    """RUNNING -> SUCCEEDED, ``assets`` recorded (replacing an earlier attempt's rows) and
    the video READY with them, unless the job was cancelled or taken over meanwhile (False,
    nothing written). Raises VideoGone if the video row went away: the caller's
    transaction must roll back. ``chunked``: published by the job's stitch task."""
    measured: dict[str, Any] = {"source_duration_s": source.duration_s} if source.duration_s \
        else {}
    if encode_speed:
        measured["encode_speed"] = encode_speed
    if not _apply(
        session, [Job.id == job_id, *_owned_by(worker_id, chunked=chunked),
                  Job.cancel_requested.is_(False)],
        {"status": JobStatus.SUCCEEDED, "progress": 1.0, "finished_at": _now(), "error": None,
         "error_code": None, **_spent(instance_seconds),
         "stored_bytes": sum(asset.size_bytes or 0 for asset in assets), **measured},
    ):
        return False
    video_id = _video_of(session, job_id)
    if video_id is None or not video_state.publish(session, video_id=video_id, job_id=job_id,
                                                   source=source):
        raise VideoGone(job_id)
    task_state.close_job(session, job_id=job_id)
    # The video's rows are this job's now: an earlier attempt's (a re-run after a crash
    # overwrote the same keys) and a superseded job's go (the caller removes its objects).
    session.execute(delete(MediaAsset).where(MediaAsset.video_id == video_id))
    session.add_all(assets)
    session.flush()
    events.record_job_event(session, EventType.JOB_SUCCEEDED, job_id=job_id)
    events.record_rendition_events(session, video_id=video_id, job_id=job_id)
    events.record_video_event(session, EventType.VIDEO_READY, video_id=video_id)
    return True


def _fail(session: Session, where: list[Any], *, job_id: str, reason: str,
          code: ErrorCode, spent_s: float | None = None) -> bool:
    if not _apply(session, [Job.id == job_id, *where],
                  {"status": JobStatus.FAILED, "error": reason[:_MAX_REASON],
                   "error_code": code, "finished_at": _now(), **_spent(spent_s)}):
        return False
    task_state.close_job(session, job_id=job_id)
    if video_id := _video_of(session, job_id):
        video_state.settle_unpublished(session, video_id=video_id, failed=True)
    events.record_job_event(session, EventType.JOB_FAILED, job_id=job_id)
    return True


def fail(session: Session, *, job_id: str, worker_id: str, reason: str,
         code: ErrorCode, spent_s: float | None = None, chunked: bool = False) -> bool:
    """RUNNING -> FAILED by its owner (``chunked``: by one of its tasks, once however many
    fail); the video settles (READY if an earlier job's assets are published, else
    FAILED). ``reason`` is one short sentence for people."""
    return _fail(session, _owned_by(worker_id, chunked=chunked), job_id=job_id, reason=reason,
                 code=code, spent_s=spent_s)


def fail_dead_lettered(session: Session, *, job_id: str, reason: str,
                       stale_after: timedelta, queued_too: bool = False) -> bool:
    """-> FAILED (DEAD_LETTERED) for a job SQS gave up on: a RUNNING one whose owner is
    presumed dead (and, ``queued_too``, a QUEUED one: a version-1 letter named its job).
    A job still beating is left to its owner."""
    leaving = abandoned(stale_after)
    if queued_too:
        leaving = or_(Job.status == JobStatus.QUEUED, leaving)
    return _fail(session, [leaving], job_id=job_id, reason=reason,
                 code=ErrorCode.DEAD_LETTERED)


def fail_dead_lettered_task(session: Session, *, token_id: str, reason: str,
                            stale_after: timedelta) -> tuple[str, str] | None:
    """-> FAILED (DEAD_LETTERED) for the chunked job whose task was last claimed under the
    dead-lettered token ``token_id``, if that task's worker is presumed dead; the reason
    names the task. Returns (job id, video id) when it failed."""
    found = task_state.of_token(session, token_id=token_id)
    if found is None:
        return None
    task_id, job_id, name = found
    if not task_state.is_abandoned(session, task_id=task_id, stale_after=stale_after):
        return None
    video_id = _video_of(session, job_id) or ""
    if _fail(session, [*_CHUNKED_RUNNING], job_id=job_id, reason=f"{name}: {reason}",
             code=ErrorCode.DEAD_LETTERED):
        return job_id, video_id
    return None


WORN_OUT_REASON = "gave up: the worker stopped on every attempt"


def fail_worn_out(session: Session, *, stale_after: timedelta,
                  max_attempts: int) -> list[tuple[str, str]]:
    """-> FAILED (DEAD_LETTERED) for abandoned jobs that have had every attempt: their
    workers died on each (a job that kills its worker is not run again). Returns the
    (job id, video id) of each, whose outputs are the caller's to remove."""
    failed = []
    for job_id in scheduler.worn_out(session, stale_after=stale_after,
                                     max_attempts=max_attempts):
        video_id = _video_of(session, job_id) or ""
        if _fail(session, [abandoned(stale_after), Job.attempts >= max_attempts],
                 job_id=job_id, reason=WORN_OUT_REASON, code=ErrorCode.DEAD_LETTERED):
            failed.append((job_id, video_id))
    return failed


class CancelOutcome(enum.StrEnum):
    CANCELLED = "cancelled"  # it was queued: CANCELLED now, it never runs
    FLAGGED = "flagged"      # it is running: its worker stops and ends it CANCELLED
    FINISHED = "finished"    # it had already ended; nothing changed
    NOT_FOUND = "not_found"


def _cancelled(session: Session, where: list[Any], *, job_id: str,
               spent_s: float | None = None) -> bool:
    if not _apply(session, [Job.id == job_id, *where],
                  {"status": JobStatus.CANCELLED, "cancel_requested": True,
                   "finished_at": _now(), **_spent(spent_s)}):
        return False
    task_state.close_job(session, job_id=job_id)
    if video_id := _video_of(session, job_id):
        video_state.settle_unpublished(session, video_id=video_id, failed=False)
    events.record_job_event(session, EventType.JOB_CANCELLED, job_id=job_id)
    return True


def request_cancel(session: Session, *, job_id: str) -> CancelOutcome:
    """Cancel a job: a QUEUED one is CANCELLED at once (its video goes back to how it was
    before the job); a RUNNING one is flagged, and its worker stops FFmpeg and ends it.

    A claim racing this call wins or loses as a whole: the job is either cancelled while
    queued or flagged while running, never both, and a running job's video is untouched."""
    if _cancelled(session, [Job.status == JobStatus.QUEUED], job_id=job_id):
        return CancelOutcome.CANCELLED
    if _apply(session, [Job.id == job_id, Job.status == JobStatus.RUNNING],
              {"cancel_requested": True}):
        return CancelOutcome.FLAGGED
    exists = session.execute(select(Job.id).where(Job.id == job_id)).scalar() is not None
    return CancelOutcome.FINISHED if exists else CancelOutcome.NOT_FOUND


def mark_cancelled(session: Session, *, job_id: str, worker_id: str,
                   spent_s: float | None = None, chunked: bool = False) -> bool:
    """RUNNING -> CANCELLED by the worker that stopped the work (``chunked``: one of its
    tasks' workers, the first to stop); the video settles."""
    return _cancelled(session, _owned_by(worker_id, chunked=chunked), job_id=job_id,
                      spent_s=spent_s)


def _unfinishable(stale_after: timedelta) -> ColumnElement[bool]:
    """SQL: a job flagged for cancel that nobody will finish: released back to the queue
    (claims refuse it), running with a dead owner, or chunked with no task running."""
    return and_(Job.cancel_requested.is_(True),
                or_(Job.status == JobStatus.QUEUED, abandoned(stale_after),
                    _idle_chunked(stale_after)))


def cancel_abandoned(session: Session, *, job_id: str, stale_after: timedelta) -> bool:
    """-> CANCELLED for a job flagged for cancel that nobody will finish."""
    return _cancelled(session, [_unfinishable(stale_after)], job_id=job_id)


def _idle_chunked(stale_after: timedelta) -> ColumnElement[bool]:
    """SQL: a running chunked job none of whose tasks runs under a live worker (every
    task's beat also beats the job, so the job's own beat is their latest)."""
    cutoff = _now() - stale_after
    return and_(Job.status == JobStatus.RUNNING, Job.chunked.is_(True),
                or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < cutoff))


def end_abandoned(session: Session, *, stale_after: timedelta,
                  max_attempts: int) -> list[tuple[str, str]]:
    """End what nobody else will, before a worker claims: jobs whose workers died on every
    attempt (FAILED, dead-lettered), chunked jobs with a task whose workers did (FAILED
    once, with that task's name), and cancelled jobs nobody will finish (CANCELLED: queued,
    abandoned, or chunked with no task running). Returns the (job id, video id) of each,
    whose outputs are the caller's to remove."""
    flagged = session.execute(
        select(Job.id, Job.video_id).where(_unfinishable(stale_after))).all()
    # A cancel the user asked for wins over giving up on the job.
    ended = [(job_id, video_id or "") for job_id, video_id in flagged
             if cancel_abandoned(session, job_id=job_id, stale_after=stale_after)]
    ended += fail_worn_out(session, stale_after=stale_after, max_attempts=max_attempts)
    for _task_id, job_id, name in task_state.worn_out(
            session, stale_after=stale_after, max_attempts=max_attempts):
        video_id = _video_of(session, job_id) or ""
        if _fail(session, [*_CHUNKED_RUNNING], job_id=job_id,
                 reason=f"{name}: {WORN_OUT_REASON}", code=ErrorCode.DEAD_LETTERED):
            ended.append((job_id, video_id))
    return ended


class VideoDeletion(enum.StrEnum):
    DELETED = "deleted"      # gone, with its rows; a queued job was cancelled first
    BUSY = "busy"            # a job is running on it: nothing changed (cancel it first)
    NOT_FOUND = "not_found"


def delete_video(session: Session, *, video_id: str) -> VideoDeletion:
    """Delete a video and its assets (the foreign key cascades; its jobs stay, with no
    video, so what they cost still counts in usage), recording video.deleted; refused
    while a job runs on it, which would otherwise publish into a deleted video.

    Its queued job is cancelled first, with a conditional UPDATE: a claim racing the
    delete either ran first (then the job is running and the delete is refused) or finds
    the job cancelled. The objects in S3 are the caller's to remove after the commit."""
    queued = session.execute(select(Job.id).where(
        Job.video_id == video_id, Job.status == JobStatus.QUEUED)).scalars().all()
    for job_id in queued:
        _cancelled(session, [Job.status == JobStatus.QUEUED], job_id=job_id)
    running = session.execute(select(Job.id).where(
        Job.video_id == video_id, Job.status == JobStatus.RUNNING)).first()
    if running:
        return VideoDeletion.BUSY
    if session.get(GalleryVideo, video_id) is None:
        return VideoDeletion.NOT_FOUND
    events.record_video_event(session, EventType.VIDEO_DELETED, video_id=video_id)
    session.execute(delete(GalleryVideo).where(GalleryVideo.id == video_id))
    return VideoDeletion.DELETED
