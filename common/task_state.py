"""The task state machine of chunked jobs (issue 10): the only module that changes a
task's status, and the one through which a chunked job's row follows its tasks.

    QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED
    RUNNING -> QUEUED            (its worker releases it: shutdown, a fault to retry)

A task is claimed, heart-beaten, retried and dead-lettered like a job, with conditional
UPDATEs whose WHERE clause names the state it leaves and (while it runs) the worker that
owns it, so two workers never both own a task and a duplicate delivery changes nothing.

The job's side: a job becomes chunked in one transaction with its tasks' insertion (the
worker that split it owned it; no one owns it afterwards), and stays RUNNING while its
tasks run. Every task heartbeat also beats the job row and rewrites its progress as its
tasks' progress weighted by their work, so the job's fair share (one RUNNING job, however
many tasks run), its progress and its liveness are those of its tasks. The job ends
through ``common.job_state`` (``chunked=True``): SUCCEEDED by its stitch, FAILED once by
the first task that cannot succeed (its reason, prefixed with the task's name),
CANCELLED by whoever finds the cancel. Its other tasks end CANCELLED with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from common.error_codes import ErrorCode
from common.models import Job, Task, TaskKind
from common.statuses import JobStatus


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class NewTask:
    kind: TaskKind
    seq: int
    spec: dict[str, Any] = field(default_factory=dict)
    estimated_work_s: float | None = None


def describe(kind: TaskKind | str, spec: dict[str, Any], chunks: int | None = None) -> str:
    """A task's name for people: "chunk 3 of 10", "the audio", "the stitch"."""
    if kind == TaskKind.CHUNK:
        index = int(spec.get("index", 0)) + 1
        return f"chunk {index} of {chunks}" if chunks else f"chunk {index}"
    return f"the {kind}"


# --- what may run ---------------------------------------------------------------------

def job_open() -> ColumnElement[bool]:
    """SQL on ``jobs``: a chunked job whose tasks may still run."""
    return and_(Job.status == JobStatus.RUNNING, Job.chunked.is_(True),
                Job.cancel_requested.is_(False))


def abandoned_task(stale_after: timedelta, *, now: datetime | None = None
                   ) -> ColumnElement[bool]:
    """SQL: a RUNNING task whose worker has not beaten for ``stale_after``."""
    cutoff = (now or _now()) - stale_after
    return (Task.status == JobStatus.RUNNING) & or_(Task.heartbeat_at.is_(None),
                                                    Task.heartbeat_at < cutoff)


def _others_done() -> ColumnElement[bool]:
    """SQL: every task of this task's job but the stitch has succeeded."""
    sibling = aliased(Task)
    return ~exists(select(sibling.id).where(
        sibling.job_id == Task.job_id, sibling.kind != TaskKind.STITCH,
        sibling.status != JobStatus.SUCCEEDED))


def runnable_task(stale_after: timedelta, *, now: datetime | None = None
                  ) -> ColumnElement[bool]:
    """SQL on ``tasks`` joined to ``jobs``: a task a worker may claim now (queued and out
    of its backoff, or running under a worker presumed dead; a stitch only once the
    others have succeeded; never of a job flagged for cancel or over)."""
    now = now or _now()
    waiting = and_(Task.status == JobStatus.QUEUED,
                   or_(Task.not_before.is_(None), Task.not_before <= now))
    return and_(job_open(), or_(waiting, abandoned_task(stale_after, now=now)),
                or_(Task.kind != TaskKind.STITCH, _others_done()))


def waiting_task() -> ColumnElement[bool]:
    """SQL on ``tasks`` joined to ``jobs``: a task that waits for a worker, in its backoff
    or not (as ``common.waiting.waiting_job``): queued, of an open job, and a stitch only
    once the others are done (until then it waits for them, not for a worker)."""
    return and_(Task.status == JobStatus.QUEUED, job_open(),
                or_(Task.kind != TaskKind.STITCH, _others_done()))


def _of_open_job() -> ColumnElement[bool]:
    return Task.job_id.in_(select(Job.id).where(job_open()))


# --- the split and the claim ----------------------------------------------------------

def split(session: Session, *, job_id: str, worker_id: str, tasks: Sequence[NewTask],
          spent_s: float | None = None) -> bool:
    """The running, unchunked job this worker owns becomes chunked: its ``tasks`` are
    inserted QUEUED and nobody owns the job any more (``spent_s``: what the split cost,
    added to the job's instance time). False (nothing written) when the job is no longer
    this worker's or was flagged for cancel."""
    now = _now()
    spent = {} if spent_s is None else {
        "instance_seconds": func.coalesce(Job.instance_seconds, 0.0) + spent_s}
    moved = session.execute(
        update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING,
                          Job.worker_id == worker_id, Job.chunked.is_(False),
                          Job.cancel_requested.is_(False))
        # No beat until a task runs: the job holds a share only while one does.
        .values(chunked=True, worker_id=None, heartbeat_at=None, progress=0.0, updated_at=now,
                estimated_work_s=sum(t.estimated_work_s or 0.0 for t in tasks) or None,
                **spent)
        .execution_options(synchronize_session=False))
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    session.add_all(Task(job_id=job_id, kind=t.kind, seq=t.seq, spec=t.spec,
                         estimated_work_s=t.estimated_work_s, status=JobStatus.QUEUED,
                         created_at=now, updated_at=now) for t in tasks)
    session.flush()
    return True


@dataclass(frozen=True)
class TaskClaim:
    """What a worker needs of the task it claimed, from the rows."""

    task_id: str
    kind: TaskKind
    spec: dict[str, Any]
    attempts: int
    chunks: int  # how many chunk tasks its job has (for names like "chunk 3 of 10")


def claim(session: Session, *, task_id: str, worker_id: str, stale_after: timedelta,
          token_id: str | None = None) -> TaskClaim | None:
    """This task, if it is runnable, -> RUNNING for ``worker_id`` (a takeover when its
    worker died). Beats its job too: the job's share is live again."""
    now = _now()
    runnable = select(Task.id).join(Job, Job.id == Task.job_id).where(
        Task.id == task_id, runnable_task(stale_after, now=now))
    taken = session.execute(
        update(Task).where(Task.id.in_(runnable))
        .values(status=JobStatus.RUNNING, worker_id=worker_id, started_at=now,
                heartbeat_at=now, progress=0.0, attempts=Task.attempts + 1, not_before=None,
                claim_token=token_id, updated_at=now)
        .execution_options(synchronize_session=False))
    if not taken.rowcount:  # type: ignore[attr-defined]
        return None
    row = session.execute(select(Task.job_id, Task.kind, Task.spec, Task.attempts)
                          .where(Task.id == task_id)).one()
    _beat_job(session, row.job_id, now)
    chunks = session.execute(select(func.count()).select_from(Task).where(
        Task.job_id == row.job_id, Task.kind == TaskKind.CHUNK)).scalar_one()
    return TaskClaim(task_id, TaskKind(row.kind), dict(row.spec or {}), row.attempts,
                     int(chunks))


def _beat_job(session: Session, job_id: str, now: datetime) -> None:
    """The job's liveness and progress from its tasks: the work-weighted mean progress
    (a task with no estimate weighs 1)."""
    weight = func.coalesce(Task.estimated_work_s, 1.0)
    progress = (select(func.sum(weight * case(
        (Task.status == JobStatus.SUCCEEDED, 1.0), else_=Task.progress))
        / func.sum(weight)).where(Task.job_id == job_id).scalar_subquery())
    session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                    .values(heartbeat_at=now, progress=func.coalesce(progress, 0.0))
                    .execution_options(synchronize_session=False))


def _owned(task_id: str, worker_id: str) -> list[ColumnElement[bool]]:
    return [Task.id == task_id, Task.status == JobStatus.RUNNING, Task.worker_id == worker_id]


def _apply(session: Session, where: Sequence[ColumnElement[bool]],
           values: dict[str, Any]) -> bool:
    values.setdefault("updated_at", _now())
    result = session.execute(update(Task).where(*where).values(**values)
                             .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _spent(seconds: float | None) -> dict[str, Any]:
    if seconds is None:
        return {}
    return {"instance_seconds": func.coalesce(Task.instance_seconds, 0.0) + seconds}


def job_of(session: Session, task_id: str) -> str | None:
    return session.execute(select(Task.job_id).where(Task.id == task_id)).scalar()


# --- while it runs --------------------------------------------------------------------

@dataclass(frozen=True)
class Beat:
    owned: bool              # False: the task was taken over or ended elsewhere
    cancel_requested: bool   # True: the job was cancelled (or ended): stop, publish nothing


def heartbeat(session: Session, *, task_id: str, worker_id: str,
              progress: float | None = None) -> Beat:
    """Liveness (and progress) of a running task this worker owns, and of its job."""
    now = _now()
    values: dict[str, Any] = {"heartbeat_at": now}
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, progress))
    owned = _apply(session, [*_owned(task_id, worker_id), _of_open_job()], values)
    job_id = job_of(session, task_id)
    if owned and job_id:
        _beat_job(session, job_id, now)
    job = session.execute(select(Job.status, Job.cancel_requested)
                          .where(Job.id == job_id)).one_or_none()
    stop = job is None or bool(job.cancel_requested) or job.status != JobStatus.RUNNING
    return Beat(owned=owned, cancel_requested=stop)


def release(session: Session, *, task_id: str, worker_id: str,
            not_before: datetime | None = None, spent_s: float | None = None) -> bool:
    """RUNNING -> QUEUED: this worker gives the task back (shutdown, or a fault to retry
    from ``not_before``)."""
    return _apply(session, _owned(task_id, worker_id),
                  {"status": JobStatus.QUEUED, "worker_id": None, "progress": 0.0,
                   "not_before": not_before, **_spent(spent_s)})


# --- endings ----------------------------------------------------------------------------

def succeed(session: Session, *, task_id: str, worker_id: str,
            spent_s: float | None = None) -> bool:
    """RUNNING -> SUCCEEDED, unless the task was taken over or its job ended or was
    cancelled meanwhile (False: the caller's outputs of it are for nobody)."""
    done = _apply(session, [*_owned(task_id, worker_id), _of_open_job()],
                  {"status": JobStatus.SUCCEEDED, "progress": 1.0, "finished_at": _now(),
                   "error": None, "error_code": None, **_spent(spent_s)})
    if done and (job_id := job_of(session, task_id)):
        _beat_job(session, job_id, _now())
    return done


def stitch_ready(session: Session, *, job_id: str) -> bool:
    """Every task of the job but its stitch has succeeded, and the stitch waits."""
    others = session.execute(select(func.count()).select_from(Task).where(
        Task.job_id == job_id, Task.kind != TaskKind.STITCH,
        Task.status != JobStatus.SUCCEEDED)).scalar_one()
    waiting = session.execute(select(Task.id).where(
        Task.job_id == job_id, Task.kind == TaskKind.STITCH,
        Task.status == JobStatus.QUEUED)).first()
    return others == 0 and waiting is not None


def end_task(session: Session, *, task_id: str, worker_id: str, status: JobStatus,
             reason: str | None = None, code: ErrorCode | None = None,
             spent_s: float | None = None) -> bool:
    """A running task this worker owns -> FAILED or CANCELLED (its job's end is the
    caller's: ``job_state.fail``/``mark_cancelled`` with ``chunked=True``)."""
    return _apply(session, _owned(task_id, worker_id),
                  {"status": status, "finished_at": _now(), "error": reason,
                   "error_code": code, **_spent(spent_s)})


def close_job(session: Session, *, job_id: str) -> int:
    """The job ended: its tasks still queued or running end CANCELLED (a running one's
    worker finds out at its next beat). Returns how many."""
    result = session.execute(
        update(Task).where(Task.job_id == job_id,
                           Task.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
        .values(status=JobStatus.CANCELLED, finished_at=_now(), updated_at=_now())
        .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def instance_seconds(session: Session, *, job_id: str) -> float:
    """What the job's tasks cost so far, summed (the job's own row has the split's)."""
    total = session.execute(select(func.sum(Task.instance_seconds))
                            .where(Task.job_id == job_id)).scalar()
    return float(total or 0.0)


def live_tasks(session: Session, *, job_id: str, stale_after: timedelta) -> int:
    """Tasks of the job running under a live worker."""
    cutoff = _now() - stale_after
    return int(session.execute(select(func.count()).select_from(Task).where(
        Task.job_id == job_id, Task.status == JobStatus.RUNNING,
        Task.heartbeat_at >= cutoff)).scalar_one())


def worn_out(session: Session, *, stale_after: timedelta, max_attempts: int,
             limit: int = 10) -> list[tuple[str, str, str]]:
    """Abandoned tasks that have had every attempt, of jobs still open: (task id, job id,
    the task's name). Their jobs fail: their workers died on each attempt."""
    chunks = aliased(Task)
    count = (select(func.count()).select_from(chunks)
             .where(chunks.job_id == Task.job_id, chunks.kind == TaskKind.CHUNK)
             .scalar_subquery())
    rows = session.execute(
        select(Task.id, Task.job_id, Task.kind, Task.spec, count)
        .where(abandoned_task(stale_after), Task.attempts >= max_attempts, _of_open_job())
        .order_by(Task.created_at).limit(limit)).all()
    return [(r[0], r[1], describe(r[2], dict(r[3] or {}), int(r[4]))) for r in rows]


def of_token(session: Session, *, token_id: str) -> tuple[str, str, str] | None:
    """(task id, job id, name) of the task last claimed under a wake-up token."""
    row = session.execute(select(Task.id, Task.job_id, Task.kind, Task.spec)
                          .where(Task.claim_token == token_id)).first()
    return (row[0], row[1], describe(row[2], dict(row[3] or {}))) if row else None


def is_abandoned(session: Session, *, task_id: str, stale_after: timedelta) -> bool:
    return session.execute(select(Task.id).where(
        Task.id == task_id, abandoned_task(stale_after))).first() is not None


def needs_token() -> ColumnElement[bool]:
    """SQL on ``tasks`` joined to ``jobs``: a task that holds or needs a wake-up token:
    running, or waiting and claimable once its backoff ends (a stitch once its turn
    comes: whoever finishes the last other task sends its token)."""
    running = and_(Task.status == JobStatus.RUNNING, Job.status == JobStatus.RUNNING)
    return or_(waiting_task(), running)
