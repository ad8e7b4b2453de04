"""Request and response bodies of the gallery API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from common.models import Visibility
from common.video_view import VideoPublic as VideoPublic  # re-exported for the routes

# PostgreSQL text cannot hold NUL; other control characters are refused in titles.
Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200,
                                         pattern=r"^[^\x00-\x1f]*$")]
Description = Annotated[str, StringConstraints(max_length=5000, pattern=r"^[^\x00]*$")]
Filename = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=255, pattern=r"^[^/\\\x00-\x1f]+$")]
ContentType = Annotated[str, StringConstraints(max_length=128,
                                               pattern=r"^[\w.+-]+/[\w.+-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VideoCreate(_Strict):
    """The metadata given when an upload starts."""

    filename: Filename
    size_bytes: int = Field(gt=0, description="exact size of the file to upload, in bytes")
    content_type: ContentType = "application/octet-stream"
    title: Title = ""
    description: Description = ""
    visibility: Visibility = Visibility.PRIVATE


class VideoUpdate(_Strict):
    title: Title | None = None
    description: Description | None = None
    visibility: Visibility | None = None

    @model_validator(mode="after")
    def _something(self) -> VideoUpdate:
        if self.title is None and self.description is None and self.visibility is None:
            raise ValueError("give at least one of title, description, visibility")
        return self


class VideoPage(BaseModel):
    items: list[VideoPublic]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; "
                                                "null on the last page")


class UploadUrl(BaseModel):
    video_id: str
    key: str
    upload_url: str
    method: str = "PUT"
    headers: dict[str, str] = Field(description="send exactly these headers with the PUT")
    expires_at: datetime


class MultipartInit(BaseModel):
    video_id: str
    upload_id: str
    key: str
    part_size: int
    part_count: int
    expires_at: datetime


class PartsRequest(_Strict):
    video_id: str = Field(max_length=36)
    upload_id: str = Field(min_length=1, max_length=1024)
    part_numbers: list[Annotated[int, Field(ge=1, le=10_000)]] = Field(min_length=1,
                                                                       max_length=1000)


class PartUrl(BaseModel):
    part_number: int
    size_bytes: int = Field(description="the part's exact length: S3 refuses any other")
    url: str


class PartUrls(BaseModel):
    parts: list[PartUrl]
    expires_at: datetime


class CompletedPart(_Strict):
    part_number: int = Field(ge=1, le=10_000)
    etag: str = Field(min_length=1, max_length=128)


class CompleteRequest(_Strict):
    video_id: str = Field(max_length=36)
    upload_id: str = Field(min_length=1, max_length=1024)
    parts: list[CompletedPart] | None = Field(
        default=None, max_length=10_000,
        description="part numbers and ETags; omitted means every part S3 holds")


class AbortRequest(_Strict):
    video_id: str = Field(max_length=36)
    upload_id: str = Field(min_length=1, max_length=1024)


class ConfirmRequest(_Strict):
    video_id: str = Field(max_length=36)
    process: bool = Field(default=False, description="submit a transcoding job at once")
    qualities: list[Annotated[str, Field(max_length=16)]] | None = Field(
        default=None, max_length=8)
    priority: int = Field(default=0, ge=0, le=9)


class ConfirmResult(BaseModel):
    video: VideoPublic
    container: str = Field(description="media container recognised from the first bytes")
    job_id: str | None = None


class ViewResult(BaseModel):
    video_id: str
    counted: bool = Field(description="false when this viewer was already counted "
                                      "within the window")
    view_count: int
