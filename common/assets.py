"""The kinds of file a transcode publishes (``media_assets.kind``), with no database import:
the transcoding pipeline names them without pulling in the ORM."""

from __future__ import annotations

import enum


class AssetKind(enum.StrEnum):
    MP4 = "mp4"
    HLS_MASTER = "hls_master"
    HLS_PLAYLIST = "hls_playlist"
    THUMBNAIL = "thumbnail"
    PREVIEW = "preview"
    STORYBOARD = "storyboard"  # the sprite sheet of scrubbing previews
    STORYBOARD_VTT = "storyboard_vtt"  # WebVTT cues pointing at its tiles
    MANIFEST = "manifest"
