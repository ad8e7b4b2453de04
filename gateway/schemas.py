"""Request and response bodies of the gateway's job API (``JobPublic`` is common's:
events carry it too)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from common.job_view import JobPublic, JobTimings

MAX_PRIORITY = 9


class JobCreate(BaseModel):
    video_id: uuid.UUID
    qualities: list[str] | None = Field(
        default=None, min_length=1, max_length=8,
        description="Qualities to produce (e.g. 480p, 720p); default: all the source allows.",
    )
    priority: int = Field(default=0, ge=0, le=MAX_PRIORITY,
                          description="Higher runs first among queued jobs.")


class JobPage(BaseModel):
    items: list[JobPublic]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


__all__ = ["MAX_PRIORITY", "JobCreate", "JobPage", "JobPublic", "JobTimings"]
