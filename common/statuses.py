"""The status enums of jobs and videos, with no ORM behind them.

Plain string enums so the pipeline, the API schemas and the CLI can name a status without
importing the database schema. Which transitions exist, and who makes them, is
``common/job_state.py``'s (jobs) and ``common/video_state.py``'s (videos).
"""

from __future__ import annotations

import enum


class JobStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


# A job in one of these never changes again; the API publishes this list.
TERMINAL: tuple[JobStatus, ...] = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
# At most one job per video is in one of these (a partial unique index, migration 0003).
ACTIVE: tuple[JobStatus, ...] = (JobStatus.QUEUED, JobStatus.RUNNING)


class VideoStatus(enum.StrEnum):
    UPLOADING = "UPLOADING"    # upload URL handed out, bytes not confirmed yet
    UPLOADED = "UPLOADED"      # source confirmed in S3
    PROCESSING = "PROCESSING"  # a job is queued or running
    READY = "READY"            # assets published
    FAILED = "FAILED"
