"""Upload URLs: a presigned single PUT, or S3 multipart with presigned part URLs.

Either way the bytes go straight from the client to the uploads bucket; the gallery
only signs. A video row in UPLOADING state is created up front so its id names the
upload; ``confirm`` (gallery/confirm.py) later checks what actually arrived.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from sqlalchemy.orm import Session

from common.access import managed_video
from common.auth import Principal
from common.errors import Conflict, Invalid, NotFound
from common.http import ApiError
from common.models import GalleryVideo, VideoStatus, new_id
from common.storage import upload_key
from gallery.schemas import (
    CompletedPart,
    MultipartInit,
    PartUrl,
    PartUrls,
    UploadUrl,
    VideoCreate,
)
from gallery.settings import S3_MAX_SINGLE_PUT_BYTES, GallerySettings

# Multipart limits (Amazon S3 user guide, "Amazon S3 multipart upload limits"):
S3_MIN_PART_BYTES = 5 * 1024**2   # every part but the last is at least 5 MiB
S3_MAX_PART_BYTES = 5 * 1024**3   # no part is over 5 GiB
S3_MAX_PARTS = 10_000             # part numbers run 1..10,000
_MIB = 1024**2


def plan_parts(size: int, preferred: int) -> tuple[int, int]:
    """(part size, part count) for ``size`` bytes: whole MiB parts, at most 10,000 of them."""
    needed = math.ceil(size / S3_MAX_PARTS)
    part = max(preferred, S3_MIN_PART_BYTES, math.ceil(needed / _MIB) * _MIB)
    part = min(part, S3_MAX_PART_BYTES)
    return part, max(1, math.ceil(size / part))


def _expiry(settings: GallerySettings) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=settings.upload_url_expiry_s)


def _check_size(size: int, limit: int, *, hint: str = "") -> None:
    if size > limit:
        raise Invalid(f"file is {size} bytes; the limit is {limit} bytes{hint}",
                       code="too_large")


def _new_video(session: Session, *, principal: Principal, request: VideoCreate,
               bucket: str) -> GalleryVideo:
    video_id = new_id()
    video = GalleryVideo(
        id=video_id,
        owner_id=principal.user_id,
        title=request.title or request.filename,
        description=request.description,
        visibility=request.visibility,
        status=VideoStatus.UPLOADING,
        filename=request.filename,
        content_type=request.content_type,
        source_bucket=bucket,
        source_key=upload_key(user_id=principal.user_id, video_id=video_id,
                              filename=request.filename),
        source_size=request.size_bytes,
    )
    session.add(video)
    return video


def single_put_url(session: Session, s3: Any, *, principal: Principal, request: VideoCreate,
                   settings: GallerySettings) -> UploadUrl:
    limit = min(settings.max_upload_bytes, S3_MAX_SINGLE_PUT_BYTES)
    _check_size(request.size_bytes, limit, hint="; use multipart upload for big files"
                if request.size_bytes <= settings.max_upload_bytes else "")
    video = _new_video(session, principal=principal, request=request,
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
                     expires_at=_expiry(settings))


def multipart_init(session: Session, s3: Any, *, principal: Principal, request: VideoCreate,
                   settings: GallerySettings) -> MultipartInit:
    _check_size(request.size_bytes, settings.max_upload_bytes)
    video = _new_video(session, principal=principal, request=request,
                       bucket=settings.uploads_bucket)
    created = s3.create_multipart_upload(Bucket=settings.uploads_bucket, Key=video.source_key,
                                         ContentType=request.content_type)
    session.commit()
    part_size, part_count = plan_parts(request.size_bytes, settings.multipart_part_bytes)
    return MultipartInit(video_id=video.id, upload_id=created["UploadId"],
                         key=str(video.source_key), part_size=part_size,
                         part_count=part_count, expires_at=_expiry(settings))


def _uploading_video(session: Session, *, video_id: str, principal: Principal) -> GalleryVideo:
    video = managed_video(session, video_id=video_id, principal=principal)
    if video.status != VideoStatus.UPLOADING or not video.source_key:
        raise Conflict(f"video is {video.status.value.lower()}; its upload is closed")
    return video


def _s3_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _check_upload_id(s3: Any, video: GalleryVideo, upload_id: str) -> None:
    try:
        s3.list_parts(Bucket=video.source_bucket, Key=video.source_key, UploadId=upload_id,
                      MaxParts=1)
    except ClientError as exc:
        if _s3_code(exc) in {"NoSuchUpload", "404", "InvalidArgument"}:
            raise NotFound("multipart upload not found for this video") from None
        raise


def part_urls(session: Session, s3: Any, *, principal: Principal, video_id: str,
              upload_id: str, part_numbers: list[int], settings: GallerySettings) -> PartUrls:
    video = _uploading_video(session, video_id=video_id, principal=principal)
    _, count = plan_parts(video.source_size or 0, settings.multipart_part_bytes)
    beyond = sorted(n for n in set(part_numbers) if n > count)
    if beyond:
        raise Invalid(f"this upload has {count} parts; no part {beyond[0]}")
    _check_upload_id(s3, video, upload_id)
    urls = [
        PartUrl(part_number=n, url=s3.generate_presigned_url(
            "upload_part",
            Params={"Bucket": video.source_bucket, "Key": video.source_key,
                    "UploadId": upload_id, "PartNumber": n},
            ExpiresIn=settings.upload_url_expiry_s))
        for n in sorted(set(part_numbers))
    ]
    return PartUrls(parts=urls, expires_at=_expiry(settings))


def _all_parts(s3: Any, video: GalleryVideo, upload_id: str) -> list[dict[str, Any]]:
    pages = s3.get_paginator("list_parts").paginate(
        Bucket=video.source_bucket, Key=video.source_key, UploadId=upload_id)
    return [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
            for page in pages for p in page.get("Parts", [])]


def multipart_complete(session: Session, s3: Any, *, principal: Principal, video_id: str,
                       upload_id: str, parts: list[CompletedPart] | None) -> GalleryVideo:
    video = _uploading_video(session, video_id=video_id, principal=principal)
    _check_upload_id(s3, video, upload_id)
    listed = (_all_parts(s3, video, upload_id) if parts is None else
              [{"PartNumber": p.part_number, "ETag": p.etag}
               for p in sorted(parts, key=lambda p: p.part_number)])
    if not listed:
        raise Conflict("no parts have been uploaded")
    try:
        s3.complete_multipart_upload(Bucket=video.source_bucket, Key=video.source_key,
                                     UploadId=upload_id,
                                     MultipartUpload={"Parts": listed})
    except ClientError as exc:
        code = _s3_code(exc)
        if code in {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML"}:
            raise ApiError(400, f"S3 refused to assemble the parts: {code}",
                           code="invalid_parts") from None
        if code == "NoSuchUpload":
            raise NotFound("multipart upload not found for this video") from None
        raise
    return video


def multipart_abort(session: Session, s3: Any, *, principal: Principal, video_id: str,
                    upload_id: str) -> None:
    video = _uploading_video(session, video_id=video_id, principal=principal)
    _check_upload_id(s3, video, upload_id)
    s3.abort_multipart_upload(Bucket=video.source_bucket, Key=video.source_key,
                              UploadId=upload_id)
