"""The dead-letter sweep: a job whose message SQS gave up on is marked FAILED.

SQS moves a message to the dead-letter queue after ``maxReceiveCount`` receives — a job
that kept failing, or kept killing its worker. The worker that sees the last attempt
fails the job itself; a worker that died on it cannot, so idle workers sweep the
dead-letter queue now and then. Messages stay in the queue for ops to inspect or
redrive; the sweep only reads them.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from common import job_state
from common.broker import Broker, Delivery
from common.db import transaction
from common.logging import get_logger
from common.messages import MalformedMessage

log = get_logger(__name__)

DEAD_LETTER_REASON = "gave up: the job failed on every attempt"
# One sweep reads at most this many messages; the next sweep reads the rest.
_SWEEP_LIMIT = 100


def sweep(dlq: Broker, sessions: sessionmaker[Session], *, stale_after: timedelta,
          limit: int = _SWEEP_LIMIT) -> int:
    """Mark FAILED each unfinished job named in ``dlq``; returns how many were failed.

    A job still running with a live heartbeat is left alone (it may yet succeed): the
    staleness rule is in the UPDATE (``job_state.abandoned``, the one ``claim`` uses), so
    a worker that beats or takes the job over meanwhile is never failed under it. Each
    message read is made visible again afterwards.
    """
    held: list[Delivery] = []
    seen: set[str] = set()
    failed = 0
    try:
        while len(held) < limit:
            delivery = dlq.receive(wait_s=0)
            if delivery is None:
                break
            held.append(delivery)
            if delivery.message_id in seen:  # the queue has been read round once
                break
            seen.add(delivery.message_id)
            failed += _fail_job(delivery, sessions, stale_after)
    finally:
        for delivery in held:
            dlq.release(delivery)
    if failed:
        log.warning("dead_letter_jobs_failed", count=failed)
    return failed


def _fail_job(delivery: Delivery, sessions: sessionmaker[Session],
              stale_after: timedelta) -> int:
    try:
        message = delivery.job()
    except MalformedMessage:
        return 0
    with transaction(sessions) as session:
        if not job_state.fail_dead_lettered(session, job_id=message.job_id,
                                            reason=DEAD_LETTER_REASON, stale_after=stale_after):
            return 0
    log.warning("dead_letter_job_failed", job_id=message.job_id)
    return 1


class DeadLetterSweeper:
    """Runs :func:`sweep` at most every ``interval_s`` (the worker calls it when idle)."""

    def __init__(self, dlq: Broker, sessions: sessionmaker[Session], *,
                 stale_after: timedelta, interval_s: float) -> None:
        self.dlq = dlq
        self.sessions = sessions
        self.stale_after = stale_after
        self.interval_s = interval_s
        self._last: float | None = None

    def maybe_sweep(self) -> int:
        now = time.monotonic()
        if self.interval_s <= 0 or (self._last is not None and now - self._last < self.interval_s):
            return 0
        self._last = now
        try:
            return sweep(self.dlq, self.sessions, stale_after=self.stale_after)
        except Exception as exc:  # the sweep is housekeeping: never stop the worker for it
            log.warning("dead_letter_sweep_failed", error=str(exc))
            return 0
