"""Video metadata: read, change and delete (with every stored object)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from common import job_state
from common.access import managed_video
from common.auth import Principal
from common.errors import Conflict
from common.job_state import VideoDeletion
from common.logging import get_logger
from common.models import GalleryVideo
from common.storage import delete_prefix, upload_prefix, video_media_prefix
from gallery.schemas import VideoUpdate

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

log = get_logger(__name__)


def update_video(
    session: Session, *, video_id: str, principal: Principal, changes: VideoUpdate
) -> GalleryVideo:
    video = managed_video(session, video_id=video_id, principal=principal)
    values = changes.model_dump(exclude_none=True)
    if values.get("visibility", video.visibility) != video.visibility:
        # HLS grants issued before the change are refused from now on (streaming/grants.py).
        video.grant_epoch += 1
    for name, value in values.items():
        setattr(video, name, value)
    session.commit()
    return video


def _abort_multipart(s3: S3Client, *, bucket: str, key: str) -> None:
    pages = s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=key)
    for page in pages:
        for upload in page.get("Uploads", []):
            if upload["Key"] == key:
                s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"])


def delete_video(
    session: Session, s3: S3Client, *, video_id: str, principal: Principal, media_bucket: str
) -> int:
    """Delete the video, its source upload and every published asset; returns objects deleted.

    Refused while a worker is transcoding it: the worker would publish into a deleted video.
    The rows go first (``job_state.delete_video``: a queued job is cancelled, a claim racing
    the delete cannot slip in), then the objects, which nothing can reach any more.
    """
    video = managed_video(session, video_id=video_id, principal=principal)
    source = (video.source_bucket, video.source_key, video.owner_id)
    outcome = job_state.delete_video(session, video_id=video.id)
    if outcome == VideoDeletion.BUSY:
        session.rollback()
        raise Conflict("a job is transcoding this video; cancel it first")
    session.commit()
    deleted = delete_prefix(s3, bucket=media_bucket, prefix=video_media_prefix(video_id=video_id))
    bucket, key, owner_id = source
    if bucket and key:
        _abort_multipart(s3, bucket=bucket, key=key)
        deleted += delete_prefix(s3, bucket=bucket, prefix=upload_prefix(
            user_id=owner_id, video_id=video_id))
    log.info("video_deleted", video_id=video_id, objects=deleted)
    return deleted
