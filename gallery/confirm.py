"""Upload confirm: the object must really be in S3, at the declared size, and look like
media. It is pinned (gallery/source_pin.py): from then on the video's source is a copy
no upload URL can overwrite. Then the video is UPLOADED and, when asked, a transcoding
job is submitted.

A failed check changes nothing, so the client can upload again and re-confirm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.access import managed_video
from common.auth import Principal
from common.errors import Conflict, Invalid
from common.logging import get_logger
from common.models import GalleryVideo, Job
from common.submission import JobSender, submit_job
from common.video_state import CONFIRMABLE
from common.video_state import confirm_upload as mark_confirmed
from gallery import source_pin
from gallery.containers import SNIFF_BYTES, sniff_container
from gallery.schemas import ConfirmRequest, ConfirmResult, VideoPublic
from gallery.uploads import source_of

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_s3.type_defs import HeadObjectOutputTypeDef

log = get_logger(__name__)


def _head(s3: S3Client, video: GalleryVideo) -> HeadObjectOutputTypeDef:
    bucket, key = source_of(video)
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            raise Conflict("nothing has been uploaded for this video yet; PUT the file "
                                "to the upload URL first", code="upload_missing") from None
        raise


def _first_bytes(s3: S3Client, video: GalleryVideo, key: str) -> bytes:
    bucket, _ = source_of(video)
    body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{SNIFF_BYTES - 1}")["Body"]
    with body:
        return bytes(body.read())


def check_source(s3: S3Client, video: GalleryVideo, *, max_bytes: int) -> str:
    """The container of the uploaded source, or the 4xx that says what is wrong. The
    source is pinned on the way: ``video.source_key`` names the checked copy after."""
    head = _head(s3, video)
    size = int(head["ContentLength"])
    if size != video.source_size:
        raise Invalid(f"uploaded object is {size} bytes but {video.source_size} were "
                            "declared", code="size_mismatch")
    if size > max_bytes:
        raise Invalid(f"file is {size} bytes; the limit is {max_bytes}", code="too_large")
    pinned = source_pin.pin(s3, video, etag=head["ETag"])
    container = sniff_container(_first_bytes(s3, video, pinned))
    if container is None:
        source_pin.unpin(s3, video, pinned)
        raise Invalid("the uploaded file is not a recognised video container (MP4/MOV, "
                            "Matroska/WebM, AVI, MPEG-TS/PS, FLV, Ogg)", code="not_media")
    video.source_key = pinned
    return container


def _job_of_earlier_confirm(session: Session, video: GalleryVideo) -> str | None:
    """The job id when a confirm with ``process`` already ran for this video."""
    return session.execute(
        select(Job.id).where(Job.owner_id == video.owner_id,
                             Job.idempotency_key == _idempotency_key(video))
    ).scalar_one_or_none()


def _idempotency_key(video: GalleryVideo) -> str:
    return f"confirm:{video.id}"


def _confirmed_already(video: GalleryVideo) -> Conflict:
    return Conflict(f"video is {video.status.value.lower()}; it was confirmed already")


def confirm_upload(session: Session, s3: S3Client, broker: JobSender, *,
                   principal: Principal,
                   request: ConfirmRequest, max_bytes: int) -> ConfirmResult:
    video = managed_video(session, video_id=request.video_id, principal=principal)
    earlier_job = _job_of_earlier_confirm(session, video) if request.process else None
    if earlier_job is None and video.status not in CONFIRMABLE:
        raise _confirmed_already(video)
    container = check_source(s3, video, max_bytes=max_bytes)
    if earlier_job is not None:  # a replayed confirm: report the job it made
        return ConfirmResult(video=VideoPublic.model_validate(video), container=container,
                             job_id=earlier_job)
    if not mark_confirmed(session, video_id=video.id):  # a concurrent confirm got there first
        session.rollback()
        session.refresh(video)
        raise _confirmed_already(video)
    session.commit()
    log.info("upload_confirmed", video_id=video.id, container=container)
    job_id = None
    if request.process:
        submitted = submit_job(session, broker, video=video, owner_id=video.owner_id,
                               qualities=request.qualities, priority=request.priority,
                               idempotency_key=_idempotency_key(video))
        job_id = submitted.job.id
    return ConfirmResult(video=VideoPublic.model_validate(video), container=container,
                         job_id=job_id)
