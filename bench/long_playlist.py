"""bench-api scenario: the HLS variant playlist of a 2-hour video (issue 11).

Publishes a few 2-hour videos whose variant playlists are what processor/packaging.py
writes for 2 s fragments (1,200 segments of 6 s), stored in the moto S3 bucket, and gives
the load generator their variant URLs with a playback grant, as a player follows them from
the master: no Authorization header. The target is p99 < 20 ms and at most 2 ms of server
CPU per request, and the playlist under 100 KB.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from common import aws
from common.db import engine_for
from common.models import AssetKind, GalleryVideo, Job, MediaAsset
from common.settings import CommonSettings
from processor.cmaf import CmafIndex, Fragment
from processor.hls import segment_starts, variant_playlist
from streaming.grants import GrantSigner

DURATION_S = 2 * 3600
FRAGMENT_S = 2.0
FRAGMENT_BYTES = 2_800_000 * 2 // 8  # a 720p fragment at the rung's cap
VIDEOS = 20
TARGET_P99_MS, TARGET_CPU_MS, TARGET_BYTES = 20.0, 2.0, 100_000
BUCKET = "videoforge-media"


@dataclass(frozen=True)
class LongPlaylist:
    env: dict[str, str]  # what the streaming service needs to read the stored playlists
    paths: list[str]
    playlist_bytes: int  # the stored playlist


def two_hour_playlist() -> str:
    init = 1_300
    fragments = tuple(
        Fragment(offset=init + 200 + i * FRAGMENT_BYTES, size=FRAGMENT_BYTES,
                 start_s=i * FRAGMENT_S, duration_s=FRAGMENT_S)
        for i in range(int(DURATION_S / FRAGMENT_S)))
    index = CmafIndex(init_size=init, fragments=fragments)
    return variant_playlist(index, segment_starts(index), "../720p.mp4")


def seed_long_videos(database_url: str, aws_env: dict[str, str], *,
                     signing_key: str) -> LongPlaylist:
    """Rows and stored playlists for ``VIDEOS`` 2-hour public videos; their variant paths
    with grants signed by ``signing_key`` (the service's VF_STREAM_SIGNING_KEY)."""
    grants = GrantSigner(signing_key.encode())
    s3: Any = aws.client("s3", CommonSettings(aws_endpoint_url=aws_env["VF_AWS_ENDPOINT_URL"]))
    s3.create_bucket(Bucket=BUCKET)
    text = two_hour_playlist()
    owner = str(uuid.uuid4())
    videos, jobs, assets, paths = [], [], [], []
    for _ in range(VIDEOS):
        video_id, job_id = str(uuid.uuid4()), str(uuid.uuid4())
        prefix = f"videos/{video_id}/{job_id}/"
        s3.put_object(Bucket=BUCKET, Key=prefix + "hls/720p.m3u8", Body=text.encode())
        videos.append({"id": video_id, "owner_id": owner, "title": "Two hours",
                       "visibility": "public", "status": "READY", "current_job_id": job_id,
                       "duration_s": DURATION_S})
        jobs.append({"id": job_id, "video_id": video_id, "owner_id": owner,
                     "status": "SUCCEEDED"})
        for kind, path in ((AssetKind.HLS_PLAYLIST, "hls/720p.m3u8"), (AssetKind.MP4, "720p.mp4")):
            assets.append({"id": str(uuid.uuid4()), "video_id": video_id, "job_id": job_id,
                           "kind": kind.value, "quality": "720p", "bucket": BUCKET,
                           "key": prefix + path, "content_type": "video/mp4",
                           "width": 1280, "height": 720, "bitrate": 2_800_000,
                           "size_bytes": len(text) if kind == AssetKind.HLS_PLAYLIST else 0,
                           "duration_s": DURATION_S})
        grant = grants.issue(video_id, epoch=0, ttl_s=3600)
        paths.append(f"/api/stream/{video_id}/hls/720p/index.m3u8?grant={grant}")
    with engine_for(database_url).begin() as conn:
        conn.execute(insert(GalleryVideo), videos)
        conn.execute(insert(Job), jobs)
        conn.execute(insert(MediaAsset), assets)
    return LongPlaylist({"VF_MEDIA_BUCKET": BUCKET}, paths,
                        len(text.encode()))
