"""Upload URLs: a presigned single PUT (multipart for big files: gallery/multipart.py).

Either way the bytes go straight from the client to the uploads bucket; the gallery
only signs. A video row in UPLOADING state is created up front so its id names the
upload; ``confirm`` (gallery/confirm.py) later checks what actually arrived.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from common.auth import Principal
from common.errors import Conflict, Invalid
from common.models import GalleryVideo, new_id
from common.storage import upload_key
from gallery.schemas import (
    UploadUrl,
    VideoCreate,
)
from gallery.settings import S3_MAX_SINGLE_PUT_BYTES, GallerySettings

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


def expiry(settings: GallerySettings) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=settings.upload_url_expiry_s)


def check_size(size: int, limit: int, *, hint: str = "") -> None:
    if size > limit:
        raise Invalid(f"file is {size} bytes; the limit is {limit} bytes{hint}",
                       code="too_large")


def source_of(video: GalleryVideo) -> tuple[str, str]:
    """Bucket and key of the video's upload (``new_video`` sets both; older rows may not)."""
    if not (video.source_bucket and video.source_key):
        raise Conflict("this video has no upload", code="upload_missing")
    return video.source_bucket, video.source_key


def new_video(session: Session, *, principal: Principal, request: VideoCreate,
               bucket: str) -> GalleryVideo:
    video_id = new_id()
    video = GalleryVideo(
        id=video_id,
        owner_id=principal.user_id,
        title=request.title or request.filename,
        description=request.description,
        visibility=request.visibility,  # born UPLOADING (common/video_state.py)
        filename=request.filename,
        content_type=request.content_type,
        source_bucket=bucket,
        source_key=upload_key(user_id=principal.user_id, video_id=video_id,
                              filename=request.filename),
        source_size=request.size_bytes,
    )
    session.add(video)
    return video


def single_put_url(session: Session, s3: S3Client, *, principal: Principal, request: VideoCreate,
                   settings: GallerySettings) -> UploadUrl:
    limit = min(settings.max_upload_bytes, S3_MAX_SINGLE_PUT_BYTES)
    check_size(request.size_bytes, limit, hint="; use multipart upload for big files"
                if request.size_bytes <= settings.max_upload_bytes else "")
    video = new_video(session, principal=principal, request=request,
                       bucket=settings.uploads_bucket)
    # Content-Length and Content-Type become signed headers: S3 refuses a PUT of any
    # other size, so the URL cannot carry more than was declared.
    url = s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": settings.uploads_bucket, "Key": video.source_key,
                "ContentType": request.content_type, "ContentLength": request.size_bytes},
        ExpiresIn=settings.upload_url_expiry_s,
    )
    session.commit()
    return UploadUrl(video_id=video.id, key=str(video.source_key), upload_url=url,
                     headers={"Content-Type": request.content_type,
                              "Content-Length": str(request.size_bytes)},
                     expires_at=expiry(settings))
