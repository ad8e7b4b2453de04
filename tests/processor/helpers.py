"""ffprobe helpers for checking transcoder outputs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

# Bad source clip (see conftest RECIPES) → words its BadInput message must contain.
BAD_INPUTS = {
    "random_bytes": "not a media file",
    "text": "not a media file",
    "empty": "empty file",
    "truncated": "truncated",
    "truncated_faststart": "truncated",
    "audio_only": "no video stream (audio only)",
    "image": "still image",
}


def video_stream(info: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in info["streams"] if s["codec_type"] == "video")


def keyframe_times(path: Path) -> list[float]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "packet=pts_time,flags", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout
    return sorted(float(t) for t, flags in (line.split(",")[:2] for line in out.split())
                  if "K" in flags)
