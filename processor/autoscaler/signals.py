"""What the controller looks at each tick: the queue (straight from SQS), the work waiting in
the database (``backlog.py``: every runnable unit, whatever its lane), and the fleet (from
its backend), gathered into the policy's ``Signals``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from common.broker import Broker, QueueCounts
from processor.autoscaler.backends import FleetBackend, FleetState
from processor.autoscaler.backlog import Backlog, WorkEstimator
from processor.autoscaler.policy import Signals


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
