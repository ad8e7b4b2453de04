"""What a finished job writes to the catalogue: its assets and the video's status.

Publishing is one transaction: the job moves to SUCCEEDED (only if it is still this
worker's and not cancelled), its ``media_assets`` rows replace any from an earlier
attempt, and the video becomes READY with this job's assets. Either all of it is visible
or none of it.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from common import job_state
from common.models import AssetKind, GalleryVideo, Job, MediaAsset, VideoStatus
from common.storage import content_type_for, media_key
from processor.manifest import Manifest


def publish(
    session: Session,
    *,
    manifest: Manifest,
    job_id: str,
    video_id: str,
    worker_id: str,
    bucket: str,
    instance_seconds: float,
    encode_speed: float | None = None,
) -> bool:
    """Record the job's assets and make the video READY; False (nothing written) if the
    job is no longer this worker's to finish (cancelled, or taken over)."""
    if not job_state.succeed(session, job_id=job_id, worker_id=worker_id,
                             instance_seconds=instance_seconds):
        return False
    source = manifest.source
    duration = source.duration_s or None  # 0: not measured
    measured: dict[str, float] = {"source_duration_s": duration} if duration else {}
    if encode_speed:
        measured["encode_speed"] = encode_speed
    if measured:
        session.execute(update(Job).where(Job.id == job_id).values(**measured))
    # A re-run of the same job (after a crash) overwrote the same keys; its rows go too.
    session.execute(delete(MediaAsset).where(MediaAsset.job_id == job_id))
    session.add_all(
        MediaAsset(
            video_id=video_id,
            job_id=job_id,
            kind=AssetKind(asset.type),
            quality=asset.quality or "",
            bucket=bucket,
            key=media_key(video_id=video_id, job_id=job_id, relpath=asset.path),
            content_type=content_type_for(asset.path),
            width=asset.width,
            height=asset.height,
            bitrate=asset.bitrate,
            size_bytes=asset.size,
            duration_s=asset.duration,
        )
        for asset in manifest.assets
    )
    session.execute(
        update(GalleryVideo)
        .where(GalleryVideo.id == video_id)
        .values(status=VideoStatus.READY, current_job_id=job_id, duration_s=duration,
                width=source.width or None, height=source.height or None)
    )
    session.flush()
    return True


def settle_unpublished(session: Session, *, video_id: str, failed: bool) -> None:
    """The video's status after a job that published nothing: still READY if an earlier
    job's assets are published; otherwise FAILED (the job failed) or UPLOADED (cancelled,
    so it can be submitted again)."""
    video = session.get(GalleryVideo, video_id)
    if video is None or video.status != VideoStatus.PROCESSING:
        return
    if video.current_job_id:
        video.status = VideoStatus.READY
    else:
        video.status = VideoStatus.FAILED if failed else VideoStatus.UPLOADED
