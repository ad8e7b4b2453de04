"""Which jobs wait for a worker: one predicate for every place that counts them.

A job waits while it is QUEUED and not flagged for cancel (a claim refuses a flagged one),
whether or not its retry backoff is over. The scheduler ranks such jobs
(common/scheduler.py), the autoscaler counts their work (processor/autoscaler/backlog.py),
and each needs a wake-up token (processor/wakeups.py): all three by this definition.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from common.models import Job
from common.statuses import JobStatus


def waiting_job() -> ColumnElement[bool]:
    """SQL on ``jobs``: QUEUED and not flagged for cancel (in its backoff or not)."""
    return and_(Job.status == JobStatus.QUEUED, Job.cancel_requested.is_(False))
