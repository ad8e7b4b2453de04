"""Request and response bodies of the gateway's job API (``JobPublic`` is common's:
events carry it too)."""

from __future__ import annotations

import enum
import uuid

from pydantic import BaseModel, Field

from common.job_view import JobPublic, JobTimings
from common.qualities import ALIASES, QUALITY_NAMES
from common.statuses import TERMINAL, JobStatus

MAX_PRIORITY = 9


class JobCreate(BaseModel):
    video_id: uuid.UUID
    qualities: list[str] | None = Field(
        default=None, min_length=1, max_length=8,
        description=f"Qualities to produce, from {', '.join(QUALITY_NAMES)} (also "
                    f"{', '.join(sorted(a for a in ALIASES if not a[0].isdigit()))}, any "
                    "case); default: all the source allows.",
        examples=[["720p", "4k"]],
    )
    priority: int = Field(default=0, ge=0, le=MAX_PRIORITY,
                          description="Higher runs first among queued jobs.")


class JobEvent(enum.StrEnum):
    """The event types of a job's server-sent event stream."""

    PROGRESS = "progress"  # the job changed; data: JobPublic
    DONE = "done"          # the job finished; data: JobPublic (status is terminal)
    GONE = "gone"          # the job's video was deleted; data: {"id"}
    TIMEOUT = "timeout"    # the stream hit its time limit, reconnect; data: {"id"}


class JobLifecycle(BaseModel):
    statuses: list[JobStatus] = Field(default=list(JobStatus))
    terminal: list[JobStatus] = Field(
        default=list(TERMINAL),
        description="A job in one of these never changes again (its event stream ends).")
    events: list[JobEvent] = Field(
        default=list(JobEvent),
        description="Event types of /api/jobs/{id}/events; done, gone and timeout end it.")

class JobPage(BaseModel):
    items: list[JobPublic]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


__all__ = ["MAX_PRIORITY", "JobCreate", "JobPage", "JobPublic", "JobTimings"]
