"""Response bodies of the streaming API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from common.models import VideoStatus
from common.video_view import QualityPublic


class QualityList(BaseModel):
    video_id: str
    status: VideoStatus
    duration_s: float | None
    qualities: list[QualityPublic]
    hls: bool = Field(description="an adaptive HLS stream exists (quality=auto)")
    thumbnail: bool
    preview: bool
    storyboard: bool = Field(description="scrubbing previews exist (storyboard.vtt)")


class StreamUrl(BaseModel):
    video_id: str
    quality: str
    url: str
    expires_at: datetime
    content_type: str
    width: int | None = None
    height: int | None = None
    bitrate: int | None = None
    size_bytes: int | None = None


class AssetUrl(BaseModel):
    video_id: str
    url: str
    expires_at: datetime
    content_type: str
