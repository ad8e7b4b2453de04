"""The scheduler: which runnable job a worker gets next, and where a queued job stands.

The database decides; SQS messages are wake-up tokens with no say (common/messages.py).
The best runnable job is:

1. the highest priority;
2. then the one whose owner has the fewest shares running (fair share: a user's running
   jobs, one share each; stale ones do not count, their workers are gone), and among
   owners with as many, the one served least recently (the oldest last job start; never
   served comes first; a chunked job's task starts carry on its start, see below), so
   users take turns even when only one worker is free;
3. then the owner's oldest (then the smallest id, so the order is total).

It is work-conserving: nothing waits while a worker is free, so an idle fleet works
through a single user's backlog at full speed, and another user's single job is next as
soon as a worker frees up, however many jobs the first user has queued.

Runnable means: not flagged for cancel, and either QUEUED with its retry backoff
(``not_before``) over, or RUNNING under a worker presumed dead (``abandoned``), which the
claim takes over. The claim itself is ``job_state.claim_next``: it picks here, then moves
the row with a conditional UPDATE that re-checks runnability, so two workers racing for
one job cannot both win (the loser picks again). That needs no ``SKIP LOCKED`` and works
the same on PostgreSQL and on SQLite (one writer at a time). Picking reads only the
runnable rows of the top priority, grouped by owner, and two index probes per owner
(``ix_jobs_owner_started``).

A chunked job's tasks (issue 10, ``common/task_state.py``) are the second kind of
claimable unit: each ``tasks`` row is joined to its job for the priority, owner and age
that order it here (then its place in the job: audio, chunks in order, stitch). The job's
row stays RUNNING while its tasks run and every task beats it, so ``_shares_of`` counts it
once however many of its tasks run: all tasks of one job are one share. For the same
reason a task start is not a new service of its owner (``_last_start_of`` reads job starts
only): the owner was served when the job started, and its tasks carry on that one share.
So among owners with as many shares, a started chunked job keeps the place its start
gave it and its next task goes before the next job of an owner served after it started:
a started long upload keeps finishing at the fleet's speed, while an owner with fewer
shares (a new upload, an owner with nothing running) still goes first. With every task a
new service, a started job's chunks came after every job started since, so a long upload
got only the workers nobody else wanted and kept the fleet scaled out longer (issue 10's
simulator comparison, README "Chunked encoding").

The chunk hold (``chunk_hold``, ``VF_CHUNK_HOLD_S``; off by default): within the top
priority, the tasks of started chunked jobs (the job started first, first) go before every
job not yet started, until one of those jobs is older than the hold; then the order above
serves it, at the next worker that frees up. A long upload then keeps the workers it has.
It sets rule 2 aside for the length of the hold, which DESIGN.md does not, so it is an
operator's choice (docs/SCALE.md has what it buys and what it costs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from common.models import Job, Task
from common.statuses import JobStatus
from common.task_state import runnable_task

JOB, TASK = "job", "task"


def _now() -> datetime:
    return datetime.now(UTC)


def abandoned(stale_after: timedelta, *, now: datetime | None = None) -> ColumnElement[bool]:
    """SQL: a RUNNING job whose owner has not beaten for ``stale_after`` (presumed dead).

    The one staleness rule: a claim takes such a job over, the dead-letter sweep may fail
    it, and a cancelled one may be finished by whoever finds it."""
    cutoff = (now or _now()) - stale_after
    # A chunked job is never taken over as a whole: its tasks are (common/task_state.py).
    return (Job.status == JobStatus.RUNNING) & Job.chunked.is_(False) & or_(
        Job.heartbeat_at.is_(None), Job.heartbeat_at < cutoff)


def runnable(stale_after: timedelta, *, now: datetime | None = None) -> ColumnElement[bool]:
    """SQL: a job a worker may claim now."""
    now = now or _now()
    waiting = and_(Job.status == JobStatus.QUEUED,
                   or_(Job.not_before.is_(None), Job.not_before <= now))
    return and_(Job.cancel_requested.is_(False),
                or_(waiting, abandoned(stale_after, now=now)))


def _shares_of(owner: Any, stale_after: timedelta, now: datetime) -> Any:
    """SQL: the running shares of ``owner`` (a column): its running, live jobs."""
    running = aliased(Job)
    return (select(func.count()).select_from(running)
            .where(running.owner_id == owner, running.status == JobStatus.RUNNING,
                   running.heartbeat_at >= now - stale_after)
            .scalar_subquery())


def _last_start_of(owner: Any) -> Any:
    """SQL: when ``owner`` (a column) was last served: the latest start of its jobs. A
    chunked job's task starts do not count: they carry on the share its start took."""
    served = aliased(Job)
    return select(func.max(served.started_at)).where(served.owner_id == owner) \
        .scalar_subquery()


@dataclass(frozen=True)
class Unit:
    """What one worker takes: a job (``kind`` JOB) or a chunked job's task (TASK)."""

    kind: str
    id: str
    job_id: str


def _units(stale_after: timedelta, now: datetime) -> Any:
    """SQL: every claimable unit with what orders it: runnable jobs and runnable tasks."""
    jobs = select(literal(JOB).label("kind"), Job.id.label("id"), Job.id.label("job_id"),
                  Job.priority.label("priority"), Job.owner_id.label("owner_id"),
                  Job.created_at.label("created_at"), literal(0).label("seq")) \
        .where(runnable(stale_after, now=now))
    tasks = select(literal(TASK), Task.id, Task.job_id, Job.priority, Job.owner_id,
                   Job.created_at, Task.seq).join(Job, Job.id == Task.job_id) \
        .where(runnable_task(stale_after, now=now))
    return union_all(jobs, tasks).cte("units")


def best_unit(session: Session, *, stale_after: timedelta, now: datetime | None = None,
              chunk_hold: timedelta | None = None) -> Unit | None:
    """The unit the next free worker should run, or None.

    One statement, so the priority, the owner and the owner's oldest unit are read from one
    snapshot: as separate statements under READ COMMITTED, another worker's claim committing
    between them made this pick the owner it had just served (its job was still QUEUED when
    the owner was chosen) and then that owner's next job, passing over the fair choice.
    With ``chunk_hold``, one statement first for the held task (module docstring); none
    found, the fair order as without it."""
    now = now or _now()
    units = _units(stale_after, now)
    top = select(func.max(units.c.priority)).scalar_subquery()
    if chunk_hold is not None:
        held = session.execute(_held_task(units, top, cutoff=now - chunk_hold)).first()
        if held is not None:
            return Unit(held.kind, held.id, held.job_id)
    owners = (select(units.c.owner_id.label("owner_id"),
                     func.min(units.c.created_at).label("oldest"))
              .where(units.c.priority == top).group_by(units.c.owner_id).subquery("owners"))
    owner = (select(owners.c.owner_id).order_by(
        _shares_of(owners.c.owner_id, stale_after, now),
        _last_start_of(owners.c.owner_id).asc().nulls_first(),
        owners.c.oldest, owners.c.owner_id).limit(1).scalar_subquery())
    row = session.execute(
        select(units.c.kind, units.c.id, units.c.job_id)
        .where(units.c.priority == top, units.c.owner_id == owner)
        .order_by(units.c.created_at, units.c.job_id, units.c.seq, units.c.id).limit(1)
    ).first()
    return Unit(row.kind, row.id, row.job_id) if row else None


def _held_task(units: Any, top: Any, *, cutoff: datetime) -> Any:
    """SQL: the next task of the top priority's chunked job that started first, unless a
    job of that priority not yet started was created before ``cutoff``."""
    overdue = select(units.c.id).where(units.c.priority == top, units.c.kind == JOB,
                                       units.c.created_at <= cutoff).exists()
    return (select(units.c.kind, units.c.id, units.c.job_id)
            .join(Job, Job.id == units.c.job_id)
            .where(units.c.priority == top, units.c.kind == TASK, ~overdue)
            .order_by(Job.started_at, units.c.created_at, units.c.job_id, units.c.seq,
                      units.c.id).limit(1))


def worn_out(session: Session, *, stale_after: timedelta, max_attempts: int,
             limit: int = 10) -> list[str]:
    """Abandoned jobs that have had every attempt: their workers died on each of them
    (a job that kills its worker). The caller fails them rather than run them again."""
    return list(session.execute(
        select(Job.id).where(abandoned(stale_after), Job.attempts >= max_attempts)
        .order_by(Job.created_at).limit(limit)
    ).scalars())
