"""Request and response bodies of the gateway's job API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from common.job_state import JobStatus

MAX_PRIORITY = 9


class JobCreate(BaseModel):
    video_id: uuid.UUID
    qualities: list[str] | None = Field(
        default=None, min_length=1, max_length=8,
        description="Qualities to produce (e.g. 480p, 720p); default: all the source allows.",
    )
    priority: int = Field(default=0, ge=0, le=MAX_PRIORITY,
                          description="Higher runs first among queued jobs.")


class JobTimings(BaseModel):
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    wait_s: float | None = Field(description="Seconds from submission to the (last) start.")
    run_s: float | None = Field(description="Seconds running, so far or in total.")


class JobPublic(BaseModel):
    id: str
    video_id: str
    owner_id: str
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    encode_speed: float | None
    error: str | None
    priority: int
    qualities: list[str] | None
    attempts: int
    cancel_requested: bool
    queue_position: int | None = Field(
        description="Queued jobs ahead of this one (0: next); null unless QUEUED.")
    timings: JobTimings


class JobPage(BaseModel):
    items: list[JobPublic]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")
