"""Where a waiting job stands in the scheduler's order (common/scheduler.py), counting the
chunk tasks that run before it; and where a running chunked job's next task stands.

The order is the claim's, played forward with nothing finishing. The units are waiting
jobs and waiting tasks of running chunked jobs (a stitch once the others are done). Each
job a user has taken adds a running share, a task adds none (its job already holds one).
So an owner's units at one priority, in the owner's order, rank by the shares it would
then hold: its k-th job ranks shares + k, its tasks rank with the job after them, shares
+ (jobs before them) + 1. A task start does not serve its owner again (the scheduler's
rule), so an owner's units of one rank are taken one after another: its tasks and first
job at its first rank, one job at each rank after. Owners of one rank go by when they
were last served: first those new at the rank (the rank of their first unit at the
priority, latest first: the others were served at the rank before, in this same order),
among equals those not served at a higher priority on the way first, each by their last
start before it all began; then the oldest unit at the priority, then the owner.

Where this estimate can differ from the real order:
- an owner's waiting tasks are placed before its waiting jobs of the same priority (their
  jobs are almost always older, being already running); a waiting job older than the
  running chunked job (one in retry backoff) really runs before its tasks;
- a chunked job none of whose tasks runs holds no share until one starts; the estimate
  counts its owner's shares as they are now, placing that job's tasks a rank early;
- owners served at a higher priority on the way are ordered among themselves by their
  last start before it all began, not by when that higher-priority work was taken;
- a job in retry backoff keeps its place, a takeover of a dead worker's job or task is
  not foreseen, a stitch counts only once the others are done, and a job still being
  split counts as one unit, not its tasks-to-be;
- with the chunk hold set (``VF_CHUNK_HOLD_S``), started chunked jobs' tasks really go
  before a job younger than the hold; the estimate orders them as without it, so such a
  job's position is low by at most the tasks that run while it is held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from common.models import Job, Task
from common.scheduler import _last_start_of, _now, _shares_of
from common.task_state import job_open, waiting_task
from common.waiting import waiting_job


def _waiting_units() -> Any:
    """SQL: every waiting unit, with what orders it (``is_job``: 1 for a job, 0 a task)."""
    jobs = select(Job.id.label("unit_id"), Job.id.label("job_id"),
                  Job.priority.label("priority"), Job.owner_id.label("owner_id"),
                  Job.created_at.label("created_at"), literal(0).label("seq"),
                  literal(1).label("is_job")).where(waiting_job())
    tasks = select(Task.id, Task.job_id, Job.priority, Job.owner_id, Job.created_at,
                   Task.seq, literal(0)).join(Job, Job.id == Task.job_id) \
        .where(waiting_task())
    return union_all(jobs, tasks).subquery("units")


def _owner_stats(owners: Any, stale_after: timedelta, now: datetime) -> Any:
    """Each owner's shares and last start, looked up once per owner, not per unit:
    MATERIALIZED keeps the planner from folding the lookups back into every row (both
    PostgreSQL 12+ and SQLite 3.35+ read it)."""
    return select(owners, _shares_of(owners.c.owner_id, stale_after, now).label("shares"),
                  _last_start_of(owners.c.owner_id).label("last_start"),
                  ).cte("stats").prefix_with("MATERIALIZED")


def queue_positions(session: Session, job_ids: list[str] | None, *,
                    stale_after: timedelta = timedelta(minutes=5)) -> dict[str, int]:
    """Where each job of ``job_ids`` (None: every one) stands (0: next), in one query: a
    waiting job, the units ahead of it; a running chunked job, those ahead of its first
    waiting task (0 when none waits). Others (running unchunked, over, unknown) are left
    out."""
    if job_ids is not None and not job_ids:
        return {}
    units = _waiting_units()
    stats = _owner_stats(select(units.c.owner_id).group_by(units.c.owner_id)
                         .subquery("owners"), stale_after, _now())
    u = units.c
    own_order = (u.priority.desc(), u.is_job, u.created_at, u.job_id, u.seq, u.unit_id)
    ranked = select(
        units, stats.c.shares, stats.c.last_start,
        (stats.c.shares + 1 - u.is_job + func.sum(u.is_job).over(
            partition_by=u.owner_id, order_by=own_order)).label("rank"),
        func.min(u.created_at).over(partition_by=(u.owner_id, u.priority)).label("oldest"),
    ).join(stats, stats.c.owner_id == u.owner_id).subquery("ranked")
    r = ranked.c
    firsts = select(ranked, func.min(r.rank).over(partition_by=(r.owner_id, r.priority))
                    .label("first")).subquery("firsts")
    c = firsts.c
    ordered = select(c.job_id, c.is_job, (func.row_number().over(order_by=(
        c.priority.desc(), c.rank, c.first.desc(),
        case((c.first > c.shares + 1, 1), else_=0),  # served higher up on the way
        c.last_start.asc().nulls_first(), c.oldest, c.owner_id,
        c.is_job, c.created_at, c.job_id, c.seq, c.unit_id)) - 1).label("position")
    ).subquery("ordered")
    query = select(ordered.c.job_id, ordered.c.is_job, ordered.c.position)
    running = select(Job.id).where(job_open())
    if job_ids is not None:
        query = query.where(ordered.c.job_id.in_(job_ids))
        running = running.where(Job.id.in_(job_ids))
    positions = {job_id: 0 for job_id in session.execute(running).scalars()}
    tasks: dict[str, int] = {}
    for job_id, is_job, position in session.execute(query):
        if is_job:
            positions[job_id] = int(position)
        else:
            tasks[job_id] = min(int(position), tasks.get(job_id, int(position)))
    return positions | tasks


@dataclass(frozen=True)
class _Owner:
    """One owner's waiting units around the one placed: ``above_*`` at higher priorities,
    ``jobs``/``tasks`` at its priority, ``older_*`` of those before it by age, ``oldest``
    the age of its oldest there."""

    owner_id: str
    above_jobs: int
    above: int
    jobs: int
    tasks: int
    older_jobs: int
    older_tasks: int
    shares: int
    last_start: Any
    oldest: Any

    @property
    def first(self) -> int:  # the rank of its first unit at the priority
        return self.shares + self.above_jobs + 1

    @property
    def at_first(self) -> int:  # its units of that rank: its tasks and first job
        return self.tasks + min(self.jobs, 1)

    def below(self, rank: int) -> int:
        """How many of its units at the priority rank below ``rank``."""
        if rank <= self.first:
            return 0
        return self.at_first + max(0, min(rank - 1 - self.first, self.jobs - 1))

    def at(self, rank: int) -> int:
        """How many of its units at the priority have ``rank``: taken one after another."""
        if rank == self.first:
            return self.at_first
        return int(self.first < rank <= self.first + self.jobs - 1)


def _goes_before(x: _Owner, me: _Owner) -> bool:
    """Whether ``x``'s units of a rank both have go before ``me``'s (see the module
    docstring): new at the rank first, then not served higher up, then served longer ago
    (never first), then the oldest unit, then the owner."""
    def key(o: _Owner) -> tuple[int, int]:
        return -o.first, int(o.above_jobs > 0)

    if key(x) != key(me):
        return key(x) < key(me)
    if x.last_start != me.last_start:
        return x.last_start is None or (me.last_start is not None
                                        and x.last_start < me.last_start)
    return (x.oldest, x.owner_id) < (me.oldest, me.owner_id)


def _ahead_of(x: _Owner, me: _Owner, rank: int) -> int:
    """How many of ``x``'s units at the priority come before ``me``'s unit of ``rank``."""
    tied = x.at(rank)
    return x.below(rank) + (tied if tied and _goes_before(x, me) else 0)


def _before(created: Any, job_id: Any, seq: Any, unit_id: Any,
            unit: tuple[Any, str, int, str]) -> ColumnElement[bool]:
    """SQL: the unit (created, job_id, seq, unit_id) is ordered before ``unit``."""
    c, j, s, u = unit
    return or_(created < c, and_(created == c, or_(
        job_id < j, and_(job_id == j, or_(seq < s, and_(seq == s, unit_id < u))))))


def _target(session: Session, job_id: str) -> tuple[str, int, tuple[Any, str, int, str],
                                                     bool] | None | int:
    """The unit a job's position is that of: (owner, priority, its order key, is a job);
    0 for a running chunked job none of whose tasks waits; None for no position."""
    job = session.execute(select(Job.owner_id, Job.priority, Job.created_at,
                                 waiting_job().label("waits"), job_open().label("open"))
                          .where(Job.id == job_id)).first()
    if job is None or not (job.waits or job.open):
        return None
    if job.waits:
        return job.owner_id, job.priority, (job.created_at, job_id, 0, job_id), True
    task = session.execute(select(Task.id, Task.seq).join(Job, Job.id == Task.job_id)
                           .where(Task.job_id == job_id, waiting_task())
                           .order_by(Task.seq, Task.id).limit(1)).first()
    if task is None:
        return 0
    return job.owner_id, job.priority, (job.created_at, job_id, task.seq, task.id), False


def queue_position(session: Session, job_id: str, *,
                   stale_after: timedelta = timedelta(minutes=5)) -> int | None:
    """One job's ``queue_positions``, counted rather than ranked: from one row per owner
    waiting at its priority or above (its units' counts), not a window over the queue.
    None unless it waits or is a running chunked job."""
    target = _target(session, job_id)
    if not isinstance(target, tuple):
        return target
    owner, priority, unit, is_job = target
    units = _waiting_units()
    u = units.c
    level, above = u.priority == priority, u.priority > priority
    older = and_(level, _before(u.created_at, u.job_id, u.seq, u.unit_id, unit))

    def count(*conditions: ColumnElement[bool]) -> Any:
        return func.sum(case((and_(*conditions), 1), else_=0))

    job, task = u.is_job == 1, u.is_job == 0
    owners = select(
        u.owner_id, count(above, job).label("above_jobs"), count(above).label("above"),
        count(level, job).label("jobs"), count(level, task).label("tasks"),
        count(older, job).label("older_jobs"), count(older, task).label("older_tasks"),
        func.min(case((level, u.created_at))).label("oldest"),
    ).where(u.priority >= priority).group_by(u.owner_id).subquery("owners")
    stats = _owner_stats(owners, stale_after, _now())
    rows = [_Owner(r.owner_id, int(r.above_jobs), int(r.above), int(r.jobs), int(r.tasks),
                   int(r.older_jobs), int(r.older_tasks), int(r.shares), r.last_start,
                   r.oldest)
            for r in session.execute(select(stats))]
    me = next((r for r in rows if r.owner_id == owner), None)
    if me is None:  # claimed between the two reads (each its own snapshot): no longer waits
        return None
    if is_job:  # its tasks first, then its older jobs
        rank, ahead = me.first + me.older_jobs, me.tasks + me.older_jobs
    else:
        rank, ahead = me.first, me.older_tasks
    ahead += sum(r.above for r in rows)
    return ahead + sum(_ahead_of(r, me, rank) for r in rows if r.owner_id != owner)
