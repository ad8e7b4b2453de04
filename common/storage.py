"""Object storage layout and helpers (S3 through the client factory).

Keys are deterministic per job, so a re-run after a crash overwrites rather than
duplicates.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_s3.type_defs import ObjectIdentifierTypeDef

# Presigned URLs are valid up to 7 days with SigV4 (AWS S3 docs, "Sharing objects
# with presigned URLs"); we hand out far shorter ones.
MAX_PRESIGN_EXPIRY_S = 7 * 24 * 60 * 60
_CONFIRMED_FOLDER = "confirmed"
# The two top-level folders: sources in the uploads bucket, outputs in the media bucket.
# IAM policies and bucket lifecycle rules (videoforge/provision) are built from these.
UPLOADS_PREFIX = "uploads/"
MEDIA_PREFIX = "videos/"
# A chunked job's parts and chunk outputs (processor/chunking/work.py): inside the media
# prefix because the workers' role may write only there; "_work" is no video id, and the
# bucket expires what a stitch that died after publishing left behind.
WORK_PREFIX = f"{MEDIA_PREFIX}_work/"

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".jpg": "image/jpeg",
    ".gif": "image/gif",
    ".json": "application/json",
    ".vtt": "text/vtt",
}


def upload_prefix(*, user_id: str, video_id: str) -> str:
    """Everything uploaded for one video (its source, any multipart leftovers)."""
    return f"{UPLOADS_PREFIX}{user_id}/{video_id}/"


def upload_key(*, user_id: str, video_id: str, filename: str) -> str:
    return upload_prefix(user_id=user_id, video_id=video_id) + _safe_name(filename)


def confirmed_key(*, user_id: str, video_id: str, filename: str) -> str:
    """Where confirm pins the uploaded source: inside the video's upload folder (deleted
    and expired with it), one level down, where no upload URL can point, since those are
    only ever signed for :func:`upload_key` (a bare file name under the folder)."""
    folder = upload_prefix(user_id=user_id, video_id=video_id) + _CONFIRMED_FOLDER
    return f"{folder}/{_safe_name(filename)}"


def is_confirmed_key(key: str) -> bool:
    return PurePosixPath(key).parent.name == _CONFIRMED_FOLDER


def _safe_name(filename: str) -> str:
    return PurePosixPath(filename.replace("\\", "/")).name or "source"


def video_media_prefix(*, video_id: str) -> str:
    """Every job's outputs for one video."""
    return f"{MEDIA_PREFIX}{video_id}/"


def media_prefix(*, video_id: str, job_id: str) -> str:
    return f"{video_media_prefix(video_id=video_id)}{job_id}/"


def media_key(*, video_id: str, job_id: str, relpath: str) -> str:
    return media_prefix(video_id=video_id, job_id=job_id) + relpath.lstrip("/")


def content_type_for(path: str | Path) -> str:
    return CONTENT_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")


def upload_tree(s3: S3Client, *, root: Path, bucket: str, prefix: str) -> list[str]:
    """Upload every file under ``root`` to ``prefix``; returns the keys written."""
    keys = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = prefix + path.relative_to(root).as_posix()
        s3.upload_file(str(path), bucket, key,
                       ExtraArgs={"ContentType": content_type_for(path)})
        keys.append(key)
    return keys


def delete_prefix(s3: S3Client, *, bucket: str, prefix: str) -> int:
    """Delete every object under ``prefix``; returns how many."""
    deleted = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        objects: list[ObjectIdentifierTypeDef] = [{"Key": o["Key"]}
                                                  for o in page.get("Contents", [])]
        if objects:
            # DeleteObjects takes at most 1000 keys (S3 API reference); a page is ≤ 1000.
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
            deleted += len(objects)
    return deleted


def presign_get(s3: S3Client, *, bucket: str, key: str, expires_s: int = 3600) -> str:
    return str(s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key},
        ExpiresIn=min(expires_s, MAX_PRESIGN_EXPIRY_S),
    ))
