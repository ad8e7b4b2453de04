"""What a video offers for playback and presigned URLs to it.

Everything is read from the ``media_assets`` rows of the video's published job
(``current_job_id``). Presigning is local computation (no S3 round trip), so a stream
URL costs one indexed query.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, and_, bindparam, select
from sqlalchemy.orm import Session

from common.access import can_view
from common.auth import Principal
from common.http import ApiError, not_found
from common.models import AssetKind, GalleryVideo, MediaAsset, VideoStatus, Visibility
from common.storage import presign_get

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


class PresignCache:
    """Reuses a presigned URL for a tenth of its lifetime (so it always has at least 90%
    left). Signing costs far more CPU than the rest of a stream-URL request, and a
    stable URL lets browsers cache the bytes across page views. Bounded LRU."""

    def __init__(self, s3: S3Client, *, max_entries: int = 10_000,
                 reuse_fraction: float = 0.1) -> None:
        self.s3 = s3
        self._urls: OrderedDict[tuple[str, str, int], SignedUrl] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._fraction = reuse_fraction

    def sign(self, asset: PlaybackAsset, *, expires_s: int) -> SignedUrl:
        return self.sign_key(asset.bucket, asset.key, expires_s=expires_s)

    def sign_key(self, bucket: str, key: str, *, expires_s: int) -> SignedUrl:
        cache_key = (bucket, key, expires_s)
        now = datetime.now(UTC)
        reuse_until = timedelta(seconds=expires_s * (1 - self._fraction))
        with self._lock:
            cached = self._urls.get(cache_key)
            if cached is not None and cached.expires_at - now > reuse_until:
                self._urls.move_to_end(cache_key)
                return cached
        signed = SignedUrl(presign_get(self.s3, bucket=bucket, key=key, expires_s=expires_s),
                           now + timedelta(seconds=expires_s))
        with self._lock:
            self._urls[cache_key] = signed
            while len(self._urls) > self._max:
                self._urls.popitem(last=False)
        return signed


@dataclass(frozen=True, slots=True)
class PlaybackVideo:
    """What playback needs of a ``gallery_videos`` row (read as plain columns: loading
    ORM objects cost more than the rest of a stream-URL request)."""

    id: str
    owner_id: str
    visibility: Visibility
    status: VideoStatus
    duration_s: float | None
    current_job_id: str | None
    grant_epoch: int


@dataclass(frozen=True, slots=True)
class PlaybackAsset:
    """What playback needs of a ``media_assets`` row."""

    kind: AssetKind
    quality: str
    bucket: str
    key: str
    content_type: str
    width: int | None
    height: int | None
    bitrate: int | None
    size_bytes: int


_VIDEO_COLUMNS = tuple(getattr(GalleryVideo, f.name) for f in fields(PlaybackVideo))
_ASSET_COLUMNS = tuple(getattr(MediaAsset, f.name) for f in fields(PlaybackAsset))


def _check_visible(video: PlaybackVideo | None, principal: Principal | None,
                   granted: Callable[[PlaybackVideo], bool] | None) -> PlaybackVideo:
    if video is None or not ((granted is not None and granted(video))
                             or can_view(video, principal)):
        raise not_found()
    return video


@functools.cache
def _assets_query(*, by_quality: bool, one_kind: bool) -> Select[Any]:
    """The video and its published assets of the bound kind(s) (and quality): built once per
    shape with bound parameters, as building the expression costs more than running it.
    One kind is compared for equality (the hot reads ask for one): an expanding IN is
    rewritten on every execution. The kinds are bound too: statements that differ only in
    them have equal cache keys in SQLAlchemy's compiled cache, and telling two such
    statements apart there builds an expression per column compared, on every execution."""
    kinds = (MediaAsset.kind == bindparam("kind") if one_kind
             else MediaAsset.kind.in_(bindparam("kinds", expanding=True)))
    join = and_(MediaAsset.job_id == GalleryVideo.current_job_id, kinds)
    if by_quality:
        join = and_(join, MediaAsset.quality == bindparam("quality"))
    return (select(*_VIDEO_COLUMNS, *_ASSET_COLUMNS).outerjoin(MediaAsset, join)
            .where(GalleryVideo.id == bindparam("video_id")))


def published_assets(db: Session | Connection, *, video_id: str, principal: Principal | None,
                     kinds: tuple[AssetKind, ...], quality: str | None = None,
                     granted: Callable[[PlaybackVideo], bool] | None = None,
                     ) -> tuple[PlaybackVideo, list[PlaybackAsset]]:
    """The video (404 unless the principal may view it, or ``granted(video)`` holds: a
    playback grant for the video as it is now) and its published assets of ``kinds``.
    ``db``: a session, or a connection (:func:`common.deps.run_query`), which costs less."""
    if len(video_id) > 36:
        raise not_found()
    # Core, not ORM: one query, plain rows.
    connection = db.connection() if isinstance(db, Session) else db
    one_kind = len(kinds) == 1
    rows = connection.execute(
        _assets_query(by_quality=quality is not None, one_kind=one_kind),
        {"video_id": video_id, "quality": quality,
         **({"kind": kinds[0]} if one_kind else {"kinds": list(kinds)})}).all()
    split = len(_VIDEO_COLUMNS)
    video = PlaybackVideo(*rows[0][:split]) if rows else None
    video = _check_visible(video, principal, granted)
    return video, [PlaybackAsset(*row[split:]) for row in rows if row[split] is not None]


def qualities(assets: list[PlaybackAsset]) -> list[PlaybackAsset]:
    """The MP4 renditions, lowest first."""
    mp4 = [a for a in assets if a.kind == AssetKind.MP4]
    return sorted(mp4, key=lambda a: (a.height or 0, a.bitrate or 0))


def one_asset(video: PlaybackVideo, assets: list[PlaybackAsset], kind: AssetKind,
              quality: str = "") -> PlaybackAsset:
    for asset in assets:
        if asset.kind == kind and asset.quality == quality:
            return asset
    if video.current_job_id is None:
        raise ApiError(409, f"video is {video.status.value.lower()}; nothing is published yet",
                       code="not_ready")
    what = f"quality {quality}" if quality else kind.value
    raise ApiError(404, f"{what} is not available for this video")
