"""S3 multipart uploads for big files: init, presigned part URLs, complete, abort.

The declared size fixes the plan (part size and count) when the upload starts. Each part
URL signs that part's exact length, so S3 refuses a body of any other size; and complete
checks what S3 actually holds (ListParts) against the plan before assembling anything, so
a client cannot store more than it declared even where signed lengths are not enforced.
An upload that does not add up is aborted: its parts would only cost storage.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from sqlalchemy.orm import Session

from common.access import managed_video
from common.auth import Principal
from common.errors import Conflict, Invalid, NotFound
from common.http import ApiError
from common.logging import get_logger
from common.models import GalleryVideo, VideoStatus
from gallery.schemas import CompletedPart, MultipartInit, PartUrl, PartUrls, VideoCreate
from gallery.settings import GallerySettings
from gallery.uploads import check_size, expiry, new_video, source_of

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_s3.type_defs import CompletedPartTypeDef, PartTypeDef

log = get_logger(__name__)

# Multipart limits (Amazon S3 user guide, "Amazon S3 multipart upload limits"):
S3_MIN_PART_BYTES = 5 * 1024**2   # every part but the last is at least 5 MiB
S3_MAX_PART_BYTES = 5 * 1024**3   # no part is over 5 GiB
S3_MAX_PARTS = 10_000             # part numbers run 1..10,000
_MIB = 1024**2


@dataclass(frozen=True)
class PartPlan:
    size: int        # the declared size of the whole file
    part_bytes: int  # every part but the last
    count: int

    @classmethod
    def for_size(cls, size: int, preferred: int) -> PartPlan:
        """Whole-MiB parts of at least ``preferred`` bytes, at most 10,000 of them."""
        needed = math.ceil(size / S3_MAX_PARTS)
        part = max(preferred, S3_MIN_PART_BYTES, math.ceil(needed / _MIB) * _MIB)
        part = min(part, S3_MAX_PART_BYTES)
        return cls(size, part, max(1, math.ceil(size / part)))

    def part_size(self, number: int) -> int:
        return self.part_bytes if number < self.count else self.size - self.part_bytes * (
            self.count - 1)

    def mismatch(self, held: dict[int, int]) -> str | None:
        """What is wrong with the parts S3 holds (part number -> size), or None."""
        if set(held) != set(range(1, self.count + 1)):
            missing = sorted(set(range(1, self.count + 1)) - set(held))
            extra = sorted(set(held) - set(range(1, self.count + 1)))
            return (f"part {missing[0]} is missing" if missing else
                    f"part {extra[0]} is beyond the {self.count} parts planned")
        wrong = next((n for n in sorted(held) if held[n] != self.part_size(n)), None)
        if wrong is not None:
            return (f"part {wrong} is {held[wrong]} bytes; "
                    f"{self.part_size(wrong)} were planned")
        return None


def _plan(video: GalleryVideo, settings: GallerySettings) -> PartPlan:
    return PartPlan.for_size(video.source_size or 0, settings.multipart_part_bytes)


def multipart_init(session: Session, s3: S3Client, *, principal: Principal, request: VideoCreate,
                   settings: GallerySettings) -> MultipartInit:
    check_size(request.size_bytes, settings.max_upload_bytes)
    video = new_video(session, principal=principal, request=request,
                      bucket=settings.uploads_bucket)
    bucket, key = source_of(video)
    created = s3.create_multipart_upload(Bucket=bucket, Key=key,
                                         ContentType=request.content_type)
    session.commit()
    plan = _plan(video, settings)
    return MultipartInit(video_id=video.id, upload_id=created["UploadId"],
                         key=str(video.source_key), part_size=plan.part_bytes,
                         part_count=plan.count, expires_at=expiry(settings))


def _uploading_video(session: Session, *, video_id: str, principal: Principal) -> GalleryVideo:
    video = managed_video(session, video_id=video_id, principal=principal)
    if video.status != VideoStatus.UPLOADING or not video.source_key:
        raise Conflict(f"video is {video.status.value.lower()}; its upload is closed")
    return video


def _s3_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _not_found() -> NotFound:
    return NotFound("multipart upload not found for this video")


@contextmanager
def _upload_of(video: GalleryVideo) -> Iterator[None]:
    """An upload id S3 does not know for this video's key is a 404."""
    try:
        yield
    except ClientError as exc:
        if _s3_code(exc) in {"NoSuchUpload", "404", "InvalidArgument"}:
            raise _not_found() from None
        raise


def _held_parts(s3: S3Client, video: GalleryVideo, upload_id: str) -> dict[int, PartTypeDef]:
    """Every part S3 holds for the upload (number -> ListParts entry)."""
    with _upload_of(video):
        bucket, key = source_of(video)
        pages = s3.get_paginator("list_parts").paginate(
            Bucket=bucket, Key=key, UploadId=upload_id)
        return {p["PartNumber"]: p for page in pages for p in page.get("Parts", [])}


def _check_upload_id(s3: S3Client, video: GalleryVideo, upload_id: str) -> None:
    with _upload_of(video):
        bucket, key = source_of(video)
        s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=1)


def part_urls(session: Session, s3: S3Client, *, principal: Principal, video_id: str,
              upload_id: str, part_numbers: list[int], settings: GallerySettings) -> PartUrls:
    video = _uploading_video(session, video_id=video_id, principal=principal)
    plan = _plan(video, settings)
    beyond = sorted(n for n in set(part_numbers) if n > plan.count)
    if beyond:
        raise Invalid(f"this upload has {plan.count} parts; no part {beyond[0]}")
    _check_upload_id(s3, video, upload_id)
    # ContentLength becomes a signed header: S3 refuses a part of any other length.
    urls = [
        PartUrl(part_number=n, size_bytes=plan.part_size(n), url=s3.generate_presigned_url(
            "upload_part",
            Params={"Bucket": video.source_bucket, "Key": video.source_key,
                    "UploadId": upload_id, "PartNumber": n,
                    "ContentLength": plan.part_size(n)},
            ExpiresIn=settings.upload_url_expiry_s))
        for n in sorted(set(part_numbers))
    ]
    return PartUrls(parts=urls, expires_at=expiry(settings))


def _refuse(s3: S3Client, video: GalleryVideo, upload_id: str, reason: str) -> Invalid:
    bucket, key = source_of(video)
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    log.info("multipart_refused", video_id=video.id, reason=reason)
    return Invalid(f"the uploaded parts do not make the declared {video.source_size} bytes "
                   f"({reason}); the upload was aborted: start a new one",
                   code="parts_mismatch")


def multipart_complete(session: Session, s3: S3Client, *, principal: Principal, video_id: str,
                       upload_id: str, parts: list[CompletedPart] | None,
                       settings: GallerySettings) -> GalleryVideo:
    video = _uploading_video(session, video_id=video_id, principal=principal)
    held = _held_parts(s3, video, upload_id)
    if not held:
        raise Conflict("no parts have been uploaded")
    reason = _plan(video, settings).mismatch({n: int(p["Size"]) for n, p in held.items()})
    if reason is not None:
        raise _refuse(s3, video, upload_id, reason)
    if parts is not None and {p.part_number for p in parts} != set(held):
        raise Invalid("parts must name every uploaded part exactly once",
                      code="invalid_parts")
    listed: list[CompletedPartTypeDef] = (
        [{"PartNumber": n, "ETag": held[n]["ETag"]} for n in sorted(held)] if parts is None
        else [{"PartNumber": p.part_number, "ETag": p.etag}
              for p in sorted(parts, key=lambda p: p.part_number)])
    try:
        bucket, key = source_of(video)
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                     MultipartUpload={"Parts": listed})
    except ClientError as exc:
        code = _s3_code(exc)
        if code in {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML"}:
            raise ApiError(400, f"S3 refused to assemble the parts: {code}",
                           code="invalid_parts") from None
        if code == "NoSuchUpload":
            raise _not_found() from None
        raise
    return video


def multipart_abort(session: Session, s3: S3Client, *, principal: Principal, video_id: str,
                    upload_id: str) -> None:
    video = _uploading_video(session, video_id=video_id, principal=principal)
    _check_upload_id(s3, video, upload_id)
    bucket, key = source_of(video)
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
