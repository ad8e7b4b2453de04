"""Reconciling wake-up tokens with the work the database holds.

Every runnable job should have a token in the queue, and every running job holds one
(common/messages.py). Tokens can go missing without anyone being told: SQS drops a
message after its retention period, a dead-lettered token leaves its queue, a token
deleted as surplus may have raced a commit. The job would then wait until some other
token happened to wake a worker, and an idle fleet would wait for ever. So idle workers
count now and then: the units that need a token (jobs QUEUED and not flagged for cancel,
plus RUNNING; a chunked job's tasks likewise) against the tokens SQS holds (visible, in
flight, delayed), and send the difference. SQS's counts are approximate and a count can
race a finishing job: a token too many is harmless (it finds nothing to claim and is
deleted), one too few is sent on the next round.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from common import task_state
from common.broker import Broker
from common.logging import get_logger
from common.messages import WakeUp
from common.models import Job, Task
from common.statuses import JobStatus
from common.waiting import waiting_job

log = get_logger(__name__)

# One round sends at most this many tokens; the next round sends the rest.
_MAX_PER_ROUND = 500


def tokens_needed(session: Session) -> int:
    """Units that need a token: jobs runnable or backing off (QUEUED) and running, and
    chunked jobs' tasks likewise (a chunked job itself holds none: its tasks do)."""
    running = (Job.status == JobStatus.RUNNING) & Job.chunked.is_(False)
    jobs = session.execute(
        select(func.count()).select_from(Job).where(or_(waiting_job(), running))).scalar_one()
    tasks = session.execute(
        select(func.count()).select_from(Task).join(Job, Job.id == Task.job_id)
        .where(task_state.needs_token())).scalar_one()
    return int(jobs) + int(tasks)


def missing(broker: Broker, session: Session) -> int:
    """How many tokens the queue lacks for the units that need one; negative: a surplus.
    A token that found nothing to claim is surplus only when this is negative (counting
    itself, in flight): otherwise it stands in for a running job's lost one."""
    counts = broker.counts()  # first: a token sent meanwhile is one too many, not too few
    return tokens_needed(session) - (counts.visible + counts.in_flight + counts.delayed)


def reconcile(broker: Broker, sessions: sessionmaker[Session], *,
              limit: int | None = _MAX_PER_ROUND) -> int:
    """Send the tokens the queue is missing (at most ``limit``; None: all of them);
    returns how many were sent. After a restart of the local stack, whose queue starts
    empty, that is one per job still waiting or running (videoforge/stack/local.py)."""
    with sessions() as session:
        lacking = missing(broker, session)
    sent = max(0, lacking if limit is None else min(lacking, limit))
    for _ in range(sent):
        broker.send(WakeUp(reason="reconciled"))
    if sent:
        log.warning("wake_up_tokens_resent", count=sent, missing=lacking)
    return sent
