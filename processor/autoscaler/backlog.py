"""The work the fleet has to do, read from the database: everything the scheduler can
hand out, and what is left of what it has handed out.

The database is the scheduler (DESIGN.md, "Scheduling"): a worker that receives any
message claims the best runnable unit, whatever its priority or its owner's share. So
the fleet needs capacity for every runnable unit, in every lane, and this module counts
them all alike: priority and fair share decide the order of the work, never its amount.

A unit is what one worker takes at a time: a job today; a chunk, audio or stitch task
once chunked jobs exist (issue 10). Each reader below turns one kind of row into
:class:`WorkItem`; a chunked job is counted through its tasks, never also as a job.

Work is in instance-seconds: a unit's estimated work (``jobs.estimated_work_s``, set at
submission: source seconds × the work factor of its qualities, 1080p = 1.0) × the
measured encode cost, the median over recently finished jobs of the instance-seconds
they took per unit of estimate. A unit with no estimate yet counts as a typical job: the
median instance-seconds of those finished jobs; once it runs and has reported enough
progress, what is left of it is extrapolated from its own pace instead.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from common.job_state import JobStatus
from common.models import Job, Task
from common.waiting import waiting_job


@dataclass(frozen=True)
class WorkItem:
    """One unit of work the scheduler hands to one worker."""

    running: bool
    estimate: float | None     # estimated work, seconds of 1080p encoding; None: unknown
    progress: float            # 0..1, of a running unit
    queued_since: datetime
    started_at: datetime | None = None  # of a running unit


# Below this much progress a unit's own pace says little (download and probe come first).
_PACE_AFTER_PROGRESS = 0.05


def remaining_s(item: WorkItem, work_s: float | None, *, typical_s: float,
                now: datetime) -> float:
    """What is left of a running unit: its estimated work by progress; without an
    estimate, its own pace so far once it has one, else a typical job's."""
    left = 1.0 - item.progress
    if work_s is not None:
        return work_s * left
    if item.started_at and item.progress >= _PACE_AFTER_PROGRESS:
        elapsed = max(timedelta(0), now - item.started_at).total_seconds()
        return elapsed * left / item.progress
    return typical_s * left


def job_items(session: Session) -> list[WorkItem]:
    """Runnable jobs (QUEUED, not flagged for cancel: claim refuses those) and running
    ones. A running job flagged for cancel still holds its worker, with nothing left."""
    rows = session.execute(
        select(Job.status, Job.estimated_work_s, Job.progress, Job.cancel_requested,
               Job.created_at, Job.started_at)
        .where(Job.chunked.is_(False),  # counted through its tasks (task_items)
               or_(Job.status == JobStatus.RUNNING, waiting_job()))
    ).all()
    return [WorkItem(running=status == JobStatus.RUNNING, estimate=estimate,
                     progress=1.0 if cancelled else min(max(progress or 0.0, 0.0), 1.0),
                     queued_since=created, started_at=started)
            for status, estimate, progress, cancelled, created, started in rows]


def task_items(session: Session) -> list[WorkItem]:
    """Chunked jobs' tasks (issue 10), each a unit one worker takes: running ones, and
    waiting ones a worker could claim or will once their turn comes (a stitch counts
    while its chunks run: the fleet will need it). A task of a job flagged for cancel
    holds its worker with nothing left, like a job."""
    rows = session.execute(
        select(Task.status, Task.estimated_work_s, Task.progress, Job.cancel_requested,
               Job.created_at, Task.started_at)
        .join(Job, Job.id == Task.job_id)
        .where(Job.status == JobStatus.RUNNING,
               or_(Task.status == JobStatus.RUNNING,
                   (Task.status == JobStatus.QUEUED) & Job.cancel_requested.is_(False)))
    ).all()
    return [WorkItem(running=status == JobStatus.RUNNING, estimate=estimate,
                     progress=1.0 if cancelled else min(max(progress or 0.0, 0.0), 1.0),
                     queued_since=created, started_at=started)
            for status, estimate, progress, cancelled, created, started in rows]


Reader = Callable[[Session], list[WorkItem]]
READERS: tuple[Reader, ...] = (job_items, task_items)


@dataclass(frozen=True)
class Backlog:
    queued_jobs: int          # runnable units (jobs or tasks)
    running_jobs: int
    queued_work_s: float
    queued_work_each_s: tuple[float, ...]  # the same, per queued unit (each indivisible)
    running_work_s: float     # what is left of running units, by their progress
    running_remaining_s: tuple[float, ...]  # the same, per running unit
    oldest_queued_age_s: float
    encode_cost: float        # instance-seconds per second of estimated (1080p) work


class WorkEstimator:
    def __init__(self, *, default_cost: float = 1.0, default_job_s: float = 60.0,
                 sample: int = 50, readers: Sequence[Reader] = READERS) -> None:
        self.default_cost = default_cost
        self.default_job_s = default_job_s
        self.sample = sample
        self.readers = tuple(readers)

    def history(self, session: Session) -> tuple[float, float]:
        """(encode cost, typical job instance-seconds) measured on recent finished jobs."""
        rows = session.execute(
            select(Job.instance_seconds, Job.estimated_work_s)
            .where(Job.status == JobStatus.SUCCEEDED, Job.instance_seconds > 0)
            .order_by(Job.finished_at.desc())
            .limit(self.sample)
        ).all()
        if not rows:
            return self.default_cost, self.default_job_s
        # The WHERE clause makes the seconds positive (never NULL).
        seconds = [float(r[0] or 0.0) for r in rows]
        costs = [float(r[0] or 0.0) / r[1] for r in rows if r[1]]
        cost = statistics.median(costs) if costs else self.default_cost
        return cost, statistics.median(seconds)

    def backlog(self, session: Session, *, now: datetime | None = None) -> Backlog:
        now = now or datetime.now(UTC)
        cost, typical_job = self.history(session)
        queued: list[float] = []
        remaining: list[float] = []
        oldest: datetime | None = None
        for item in (i for read in self.readers for i in read(session)):
            work = item.estimate * cost if item.estimate else None
            if item.running:
                remaining.append(remaining_s(item, work, typical_s=typical_job, now=now))
            else:
                queued.append(typical_job if work is None else work)
                oldest = item.queued_since if oldest is None else min(oldest, item.queued_since)
        age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
        return Backlog(len(queued), len(remaining), sum(queued), tuple(sorted(queued)),
                       sum(remaining), tuple(sorted(remaining)), age, cost)
