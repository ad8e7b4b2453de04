"""Catalogue rows and published assets for the API tests, as the gallery and the worker
leave them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from common.db import engine_for, session_factory
from common.job_state import JobStatus
from common.models import AssetKind, GalleryVideo, Job, MediaAsset, VideoStatus, Visibility
from common.storage import content_type_for, media_key


def insert_video(database_url: str, *, owner_id: str, **fields: Any) -> GalleryVideo:
    fields.setdefault("visibility", Visibility.PUBLIC)
    fields.setdefault("status", VideoStatus.READY)
    with session_factory(database_url)() as session:
        video = GalleryVideo(owner_id=owner_id, **fields)
        session.add(video)
        session.commit()
        return video


MP4_LADDER = {"480p": (854, 480, 1_200_000), "720p": (1280, 720, 2_800_000)}
# (asset kind or None for an object without a row, quality, path under the job, content)
Published = list[tuple[AssetKind | None, str, str, bytes]]


def publish(database_url: str, s3: Any, *, video: GalleryVideo, bucket: str,
            files: Published | None = None) -> str:
    """Publish assets for ``video`` as the worker would: objects, rows, current job.

    By default a small fake set: two MP4 qualities, an HLS master with two variants
    (init + one segment each), thumbnail and preview.
    """
    files = files if files is not None else fake_files()
    job_id = str(uuid.uuid4())
    with session_factory(database_url)() as session:
        session.add(Job(id=job_id, video_id=video.id, owner_id=video.owner_id,
                        status=JobStatus.SUCCEEDED))
        session.flush()
        for kind, quality, relpath, body in files:
            key = media_key(video_id=video.id, job_id=job_id, relpath=relpath)
            s3.put_object(Bucket=bucket, Key=key, Body=body,
                          ContentType=content_type_for(relpath))
            if kind is None:
                continue
            width, height, bitrate = MP4_LADDER.get(quality, (None, None, None))
            session.add(MediaAsset(video_id=video.id, job_id=job_id, kind=kind,
                                   quality=quality, bucket=bucket, key=key,
                                   content_type=content_type_for(relpath), width=width,
                                   height=height, bitrate=bitrate, size_bytes=len(body)))
        session.execute(text("UPDATE gallery_videos SET current_job_id = :j, status = 'READY' "
                             "WHERE id = :v"), {"j": job_id, "v": video.id})
        session.commit()
    return job_id


def fake_files() -> Published:
    files: Published = [
        (AssetKind.THUMBNAIL, "", "thumbnail.jpg", b"\xff\xd8\xff\xe0fake-jpeg"),
        (AssetKind.PREVIEW, "", "preview.gif", b"GIF89afake"),
    ]
    master = ["#EXTM3U", "#EXT-X-VERSION:7"]
    for quality, (w, h, rate) in MP4_LADDER.items():
        variant = ('#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n'
                   '#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2.0,\nseg_000.m4s\n#EXT-X-ENDLIST\n')
        files += [
            (AssetKind.MP4, quality, f"{quality}.mp4", f"mp4-{quality}".encode()),
            (AssetKind.HLS_PLAYLIST, quality, f"hls/{quality}/index.m3u8", variant.encode()),
            (None, quality, f"hls/{quality}/init.mp4", f"init-{quality}".encode()),
            (None, quality, f"hls/{quality}/seg_000.m4s", f"seg-{quality}".encode()),
        ]
        master += [f"#EXT-X-STREAM-INF:BANDWIDTH={rate},RESOLUTION={w}x{h}",
                   f"{quality}/index.m3u8"]
    files.append((AssetKind.HLS_MASTER, "", "hls/master.m3u8",
                  ("\n".join(master) + "\n").encode()))
    return files


def truncate(database_url: str) -> None:
    with engine_for(database_url).begin() as conn:
        conn.execute(text("TRUNCATE media_assets, jobs, gallery_videos CASCADE"))
