"""The dead-letter sweep: the job a dead-lettered token last carried is marked FAILED.

SQS moves a token to the dead-letter queue after ``maxReceiveCount`` receives. Releases and
retries replace their token (processor/job_runner.py), so a token is received again only
when its holder vanished without a word: a dead-lettered token is one whose workers kept
dying. The token names no job; the job it last carried is the one claimed under its
message id (``jobs.claim_token``; for a chunked job's task ``tasks.claim_token``, and the
job fails with that task's name), and it is failed if it is still abandoned (its worker
presumed dead). Claims fail such jobs too once they have had every attempt
(``job_state.end_abandoned``); the sweep catches the one no worker came back for. A
version-1 letter (it named its job) maps by that name.

Idle workers sweep now and then. Letters stay in the queue for ops to inspect or redrive;
the sweep only reads them.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common import job_state
from common.broker import Broker, Delivery
from common.db import transaction
from common.logging import get_logger
from common.messages import MalformedMessage
from common.models import Job
from processor.outputs import Outputs

log = get_logger(__name__)

DEAD_LETTER_REASON = "gave up: the job failed on every attempt"
# One sweep reads at most this many messages; the next sweep reads the rest.
_SWEEP_LIMIT = 100


def sweep(dlq: Broker, sessions: sessionmaker[Session], *, stale_after: timedelta,
          outputs: Outputs | None = None, limit: int = _SWEEP_LIMIT) -> int:
    """Mark FAILED each job a letter in ``dlq`` maps to; returns how many were failed.

    A job still running with a live heartbeat is left alone (it may yet succeed): the
    staleness rule is in the UPDATE (``job_state.abandoned``, the one claims use), so a
    worker that beats or takes the job over meanwhile is never failed under it. Each
    letter read is made visible again afterwards; ``outputs`` removes a failed job's
    partial uploads.
    """
    held: list[Delivery] = []
    seen: set[str] = set()
    failed: list[tuple[str, str]] = []
    try:
        while len(held) < limit:
            delivery = dlq.receive(wait_s=0)
            if delivery is None:
                break
            held.append(delivery)
            if delivery.message_id in seen:  # the queue has been read round once
                break
            seen.add(delivery.message_id)
            failed += _fail_jobs(delivery, sessions, stale_after)
    finally:
        for delivery in held:
            dlq.release(delivery)
    for job_id, video_id in failed:
        log.warning("dead_letter_job_failed", job_id=job_id)
        if outputs is not None:
            outputs.remove(video_id=video_id, job_id=job_id)
    return len(failed)


def _fail_jobs(delivery: Delivery, sessions: sessionmaker[Session],
               stale_after: timedelta) -> list[tuple[str, str]]:
    try:
        token = delivery.token()
    except MalformedMessage:
        return []
    legacy = token.legacy_job_id
    with transaction(sessions) as session:
        mapped = Job.id == legacy if legacy else Job.claim_token == delivery.message_id
        jobs = session.execute(select(Job.id, Job.video_id).where(mapped)).all()
        failed = [(job_id, video_id or "") for job_id, video_id in jobs
                  if job_state.fail_dead_lettered(session, job_id=job_id,
                                                  reason=DEAD_LETTER_REASON,
                                                  stale_after=stale_after,
                                                  queued_too=legacy is not None)]
        if not legacy:  # the token may have carried a chunked job's task instead
            task_job = job_state.fail_dead_lettered_task(
                session, token_id=delivery.message_id, reason=DEAD_LETTER_REASON,
                stale_after=stale_after)
            failed += [task_job] if task_job else []
        return failed
