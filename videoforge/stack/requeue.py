"""After a restart: wake-up messages for the jobs the database still holds as runnable.

The local queue (moto's SQS) starts empty each time, while the database keeps its
QUEUED jobs, and RUNNING ones whose worker died with the last run. The database is the
scheduler and a message only wakes a worker (DESIGN.md, "Scheduling"), so one message
per such job is all the queue needs to get them moving again: a duplicate is harmless
(a worker that finds nothing to claim drops it), and a RUNNING job is taken over once
its heartbeat is stale.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.broker import Broker
from common.job_state import JobStatus
from common.messages import JobMessage
from common.models import GalleryVideo, Job

RUNNABLE = (JobStatus.QUEUED, JobStatus.RUNNING)


def wake_runnable_jobs(session: Session, broker: Broker) -> int:
    """Send one message per QUEUED or RUNNING job; returns how many were sent."""
    rows = session.execute(
        select(Job, GalleryVideo).join(GalleryVideo, GalleryVideo.id == Job.video_id)
        .where(Job.status.in_(RUNNABLE)).order_by(Job.created_at)).all()
    sent = 0
    for job, video in rows:
        if not (video.source_bucket and video.source_key):
            continue
        broker.send(JobMessage(job_id=job.id, video_id=video.id,
                               source_bucket=video.source_bucket,
                               source_key=video.source_key, qualities=job.qualities,
                               priority=job.priority,
                               submitted_at=job.created_at.isoformat()))
        sent += 1
    return sent
