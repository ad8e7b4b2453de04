"""What a finished job writes to the catalogue: the manifest turned into asset rows.

Publishing is one transaction, ``job_state.succeed``: the job moves to SUCCEEDED (only if
it is still this worker's and not cancelled), its ``media_assets`` rows replace any from
an earlier attempt, the video becomes READY with them, and the events are recorded.
Either all of it is visible or none of it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from common import job_state
from common.models import AssetKind, MediaAsset
from common.storage import content_type_for, media_key
from common.video_state import SourceFacts
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
    chunked: bool = False,
) -> bool:
    """Record the job's assets and make the video READY; False (nothing written) if the
    job is no longer this worker's to finish (cancelled, or taken over). Raises
    ``job_state.VideoGone`` if the video was deleted meanwhile. ``chunked``: the job's
    stitch task publishes it (its worker owns the task, not the job)."""
    source = manifest.source
    # 0 is "not measured" (a source intake never saw), as the catalogue's NULL.
    facts = SourceFacts(duration_s=source.duration_s or None, width=source.width or None,
                        height=source.height or None)
    assets = [
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
    ]
    return job_state.succeed(session, job_id=job_id, worker_id=worker_id, assets=assets,
                             source=facts, instance_seconds=instance_seconds,
                             encode_speed=encode_speed, chunked=chunked)
