"""Readers the chunked worker tests share: a job's tasks, its work prefix, its events."""

from __future__ import annotations

from sqlalchemy import func, select

from common.models import Event, Task
from processor.chunking.work import work_prefix
from tests.support.worker import Stack


def tasks_of(stack: Stack, job_id: str) -> list[Task]:
    with stack.sessions() as session:
        return list(session.scalars(select(Task).where(Task.job_id == job_id)
                                    .order_by(Task.seq)))


def work_keys(stack: Stack, job_id: str) -> list[str]:
    found = stack.s3.list_objects_v2(Bucket=stack.resources.media_bucket,
                                     Prefix=work_prefix(job_id))
    return [o["Key"] for o in found.get("Contents", [])]


def events_of(stack: Stack, job_id: str, kind: str) -> int:
    with stack.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Event).where(
            Event.subject_id == job_id, Event.type == kind)) or 0)
