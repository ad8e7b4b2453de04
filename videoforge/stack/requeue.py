"""After a restart: wake-up messages for the jobs the database still holds as runnable.

The local queue (moto's SQS) starts empty each time, while the database keeps its
QUEUED jobs, and RUNNING ones whose worker died with the last run. The database is the
scheduler and a message only wakes a worker (DESIGN.md, "Scheduling"), so one token
per such job is all the queue needs to get them moving again: a duplicate is harmless
(a worker that finds nothing to claim drops it), and a RUNNING job is taken over once
its heartbeat is stale.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from common.broker import Broker
from common.messages import WakeUp
from processor.wakeups import tokens_needed


def wake_runnable_jobs(session: Session, broker: Broker) -> int:
    """Send one wake-up token per job that needs one (QUEUED, RUNNING); returns how many."""
    needed = tokens_needed(session)
    for _ in range(needed):
        broker.send(WakeUp(reason="reconciled"))
    return needed
