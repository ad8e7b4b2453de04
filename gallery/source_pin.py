"""Pin the confirmed upload, so the worker transcodes exactly the bytes confirm checked.

A presigned PUT stays valid for its whole expiry and can overwrite the upload key with
anything of the same size, an HLS playlist naming local files for one. So confirm copies
the object server-side, only if its ETag is still the one just checked, to a key no upload
URL can name (``common.storage.confirmed_key``), checks that copy, and makes it the video's
source. Later writes to the upload key are ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from common.errors import Conflict
from common.models import GalleryVideo
from common.storage import confirmed_key, is_confirmed_key
from gallery.uploads import source_of

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

# One CopyObject request up to S3's single-copy limit (5 GiB, Amazon S3 API reference,
# CopyObject); past it the managed copy switches to UploadPartCopy, each part still
# conditional on the same ETag.
_COPY = TransferConfig(multipart_threshold=5 * 1024**3, multipart_chunksize=512 * 1024**2)


def pin(s3: S3Client, video: GalleryVideo, *, etag: str) -> str:
    """The key of the pinned copy of ``video``'s upload (made now unless it exists)."""
    bucket, source = source_of(video)
    if is_confirmed_key(source):  # confirmed before: the pinned copy is the source already
        return source
    key = confirmed_key(user_id=video.owner_id, video_id=video.id, filename=video.filename or "")
    try:
        s3.copy({"Bucket": bucket, "Key": source}, bucket, key,
                ExtraArgs={"CopySourceIfMatch": etag}, Config=_COPY)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"PreconditionFailed", "412"}:
            raise Conflict("the upload changed while it was being confirmed; confirm again",
                           code="upload_changed") from None
        raise
    return key


def unpin(s3: S3Client, video: GalleryVideo, key: str) -> None:
    """Drop a pinned copy that failed its checks (the upload itself stays for a retry)."""
    bucket, source = source_of(video)
    if key != source:
        s3.delete_object(Bucket=bucket, Key=key)
