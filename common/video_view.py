"""A video and its qualities as callers see them: the gallery's and streaming's read bodies,
which are also the bodies of ``video.*`` and ``rendition.ready`` events.

It lives in common because the gallery and streaming answer with these and the processor's
publish writes them into the events outbox; no service may import another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from common.models import VideoStatus, Visibility


class VideoPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    owner_id: str
    title: str
    description: str
    visibility: Visibility
    status: VideoStatus
    filename: str
    content_type: str | None
    source_size: int | None
    duration_s: float | None
    width: int | None
    height: int | None
    view_count: int
    current_job_id: str | None
    created_at: datetime
    updated_at: datetime


class QualityPublic(BaseModel):
    quality: str = Field(examples=["720p"])
    width: int | None
    height: int | None
    bitrate: int | None = Field(description="bits per second")
    size_bytes: int
    content_type: str


class Rendition(Protocol):
    """What a quality's description reads of an asset (ORM row or plain)."""

    @property
    def quality(self) -> str: ...
    @property
    def width(self) -> int | None: ...
    @property
    def height(self) -> int | None: ...
    @property
    def bitrate(self) -> int | None: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def content_type(self) -> str: ...


def quality_public(asset: Rendition) -> QualityPublic:
    return QualityPublic(quality=asset.quality, width=asset.width, height=asset.height,
                         bitrate=asset.bitrate, size_bytes=asset.size_bytes,
                         content_type=asset.content_type)
