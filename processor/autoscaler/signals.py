"""What the controller looks at each tick: the queue (straight from SQS), the work waiting in
the database, and the fleet (from its backend), gathered into the policy's ``Signals``.

Work is measured in instance-seconds. A job's work is its source duration × the relative
cost of the qualities it asked for (``processor.ladder.relative_cost``: 1.0 = one 1080p
output) × the measured encode cost: the median, over recently finished jobs, of the
instance-seconds they really took per source-second per unit of relative cost.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.broker import Broker, QueueCounts
from common.job_state import JobStatus
from common.models import GalleryVideo, Job
from processor.autoscaler.backends import FleetBackend, FleetState
from processor.autoscaler.policy import Signals


def relative_work(width: int | None, height: int | None, qualities: Sequence[str] | None) -> float:
    """Encode cost of a job's ladder relative to one 1080p output; 1.0 when the source size
    is not known yet (the probe has not run)."""
    if not width or not height:
        return 1.0
    from processor.ladder import choose_ladder, relative_cost  # the ladder owns the costs

    try:
        return relative_cost(choose_ladder(width, height, qualities))
    except ValueError:
        return 1.0


@dataclass(frozen=True)
class Backlog:
    queued_jobs: int
    running_jobs: int
    queued_work_s: float
    queued_work_each_s: tuple[float, ...]  # the same, per queued job (jobs are indivisible)
    running_work_s: float     # what is left of running jobs, by their progress
    running_remaining_s: tuple[float, ...]  # the same, per running job
    oldest_queued_age_s: float
    encode_cost: float        # instance-seconds per source-second per 1080p output


_JOB_COLUMNS = (Job.status, Job.source_duration_s, Job.estimated_work_s, Job.qualities,
                Job.progress, Job.created_at, GalleryVideo.width, GalleryVideo.height)


class WorkEstimator:
    """Reads the queued and running jobs and estimates their work.

    A job whose source duration is not known yet (never probed) counts as a typical job:
    the median instance-seconds of the recently finished ones.
    """

    def __init__(self, *, default_cost: float = 1.0, default_job_s: float = 60.0,
                 sample: int = 50) -> None:
        self.default_cost = default_cost
        self.default_job_s = default_job_s
        self.sample = sample

    def history(self, session: Session) -> tuple[float, float]:
        """(encode cost, typical job instance-seconds) measured on recent finished jobs."""
        rows = session.execute(
            select(Job.instance_seconds, Job.source_duration_s, Job.qualities,
                   GalleryVideo.width, GalleryVideo.height)
            .join(GalleryVideo, GalleryVideo.id == Job.video_id)
            .where(Job.status == JobStatus.SUCCEEDED, Job.instance_seconds > 0,
                   Job.source_duration_s > 0)
            .order_by(Job.finished_at.desc())
            .limit(self.sample)
        ).all()
        if not rows:
            return self.default_cost, self.default_job_s
        # The WHERE clause makes both numbers positive (never NULL).
        seconds = [float(r[0] or 0.0) for r in rows]
        costs = [s / (float(r[1] or 1.0) * relative_work(r[3], r[4], r[2]))
                 for s, r in zip(seconds, rows, strict=True)]
        return statistics.median(costs), statistics.median(seconds)

    def backlog(self, session: Session, *, now: datetime | None = None) -> Backlog:
        now = now or datetime.now(UTC)
        cost, typical_job = self.history(session)
        rows = session.execute(
            select(*_JOB_COLUMNS)
            .join(GalleryVideo, GalleryVideo.id == Job.video_id)
            .where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        ).all()
        queued: list[float] = []
        remaining: list[float] = []
        oldest: datetime | None = None
        for status, duration, estimate, qualities, progress, created, width, height in rows:
            if duration:
                work = duration * relative_work(width, height, qualities) * cost
            else:
                work = estimate or typical_job
            if status == JobStatus.QUEUED:
                queued.append(work)
                oldest = created if oldest is None else min(oldest, created)
            else:
                remaining.append(work * (1.0 - min(max(progress or 0.0, 0.0), 1.0)))
        age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
        return Backlog(len(queued), len(remaining), sum(queued), tuple(sorted(queued)),
                       sum(remaining), tuple(sorted(remaining)), age, cost)


@dataclass(frozen=True)
class Observation:
    """One tick's inputs: the policy's signals and the raw readings behind them."""

    signals: Signals
    queue: QueueCounts
    dead_letters: int | None
    backlog: Backlog
    fleet: FleetState


class SignalReader:
    def __init__(
        self,
        *,
        broker: Broker,
        sessions: sessionmaker[Session],
        backend: FleetBackend,
        estimator: WorkEstimator,
        dead_letter_broker: Broker | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.broker = broker
        self.sessions = sessions
        self.backend = backend
        self.estimator = estimator
        self.dead_letter_broker = dead_letter_broker
        self.clock = clock

    def read(self) -> Observation:
        queue = self.broker.counts()
        dead = self.dead_letter_broker.counts().visible if self.dead_letter_broker else None
        with self.sessions() as session:
            backlog = self.estimator.backlog(session)
        fleet = self.backend.observe()
        signals = Signals(
            now=self.clock(),
            visible=queue.visible,
            in_flight=queue.in_flight,
            delayed=queue.delayed,
            queued_work_s=backlog.queued_work_s,
            running_work_s=backlog.running_work_s,
            in_service=fleet.in_service,
            pending=fleet.pending,
            busy=fleet.busy,
            running_remaining_s=backlog.running_remaining_s,
            # Fresh from the database, unlike the SQS counts, which lag about a minute.
            queued_jobs=backlog.queued_jobs,
            queued_work_each_s=backlog.queued_work_each_s,
        )
        return Observation(signals, queue, dead, backlog, fleet)


def describe(observation: Observation) -> dict[str, Any]:
    """The inputs of a decision as flat log fields."""
    s, b = observation.signals, observation.backlog
    return {
        "visible": s.visible, "in_flight": s.in_flight, "delayed": s.delayed,
        "dead_letters": observation.dead_letters,
        "queued_jobs": b.queued_jobs, "running_jobs": b.running_jobs,
        "queued_work_s": round(s.queued_work_s, 1), "running_work_s": round(s.running_work_s, 1),
        "oldest_queued_age_s": round(b.oldest_queued_age_s, 1),
        "encode_cost": round(b.encode_cost, 3),
        "in_service": s.in_service, "pending": s.pending, "busy": s.busy,
        "fleet_desired": observation.fleet.desired,
    }
