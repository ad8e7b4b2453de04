"""What handling one delivery came to (the table in ``processor/job_runner.py``); a chunked
job's task ends in the same outcomes (``processor/chunking/tasks.py``)."""

from __future__ import annotations

import enum


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RELEASED = "released"
    RETRYING = "retrying"
    LOST = "lost"
    IDLE = "idle"
    DEFERRED = "deferred"
    DROPPED = "dropped"

    @property
    def ran_a_job(self) -> bool:
        return self not in {Outcome.IDLE, Outcome.DEFERRED, Outcome.DROPPED}
