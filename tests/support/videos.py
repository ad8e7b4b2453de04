"""Catalogue rows and published assets for the API tests, as the gallery and the worker
leave them (publishing goes through the worker's own upload and publish code)."""

from __future__ import annotations

import tempfile
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from common import job_state
from common.db import session_factory
from common.job_state import JobStatus
from common.models import AssetKind, GalleryVideo, Job, VideoStatus, Visibility
from common.storage import media_prefix, upload_tree
from processor.manifest import Asset, Manifest
from processor.publication import publish as processor_publish
from processor.source_info import SourceInfo, VideoStream


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
    """Publish assets for ``video`` through the worker's own code: a job claimed by a
    worker, its files uploaded with ``upload_tree``, then ``processor.publication.publish``.

    By default a small fake set: two MP4 qualities, an HLS master with two variants
    (init + one segment each), thumbnail and preview. Returns the job id.
    """
    files = files if files is not None else fake_files()
    job_id, worker_id = str(uuid.uuid4()), f"test-{uuid.uuid4().hex[:6]}"
    assets = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for kind, quality, relpath, body in files:
            (root / relpath).parent.mkdir(parents=True, exist_ok=True)
            (root / relpath).write_bytes(body)
            if kind is not None:
                width, height, bitrate = MP4_LADDER.get(quality, (None, None, None))
                assets.append(Asset(type=kind.value, path=relpath, width=width, height=height,
                                    bitrate=bitrate, size=len(body), quality=quality))
        upload_tree(s3, root=root, bucket=bucket,
                    prefix=media_prefix(video_id=video.id, job_id=job_id))
    # The video keeps the duration and size it has: the manifest's source repeats them.
    manifest = Manifest(source=source_info(video), assets=assets)
    with session_factory(database_url)() as session:
        session.add(Job(id=job_id, video_id=video.id, owner_id=video.owner_id,
                        status=JobStatus.QUEUED))
        session.flush()
        assert job_state.claim(session, job_id=job_id, worker_id=worker_id,
                               stale_after=timedelta(minutes=1))
        assert processor_publish(session, manifest=manifest, job_id=job_id, video_id=video.id,
                                 worker_id=worker_id, bucket=bucket, instance_seconds=1.0)
        session.commit()
    return job_id


def source_info(video: GalleryVideo) -> SourceInfo:
    """What intake would have said of ``video``'s source (0 where the row knows nothing)."""
    width, height = video.width or 0, video.height or 0
    stream = VideoStream(
        index=0, codec="h264", width=width, height=height, sar_num=1, sar_den=1, rotation=0,
        fps=25.0, is_vfr=False, frame_count=round((video.duration_s or 0) * 25), start_s=0.0,
        pix_fmt="yuv420p", bit_depth=8, has_alpha=False, full_range=False, color_space="",
        color_transfer="", color_primaries="", field_order="progressive", field_order_from="")
    return SourceInfo(name=video.filename or "source.mp4", container="mov",
                      format_name="mov,mp4,m4a,3gp,3g2,mj2", size_bytes=video.source_size or 0,
                      duration_s=video.duration_s or 0.0,
                      claimed_duration_s=video.duration_s, width=width, height=height,
                      video=stream, audio=None)


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
