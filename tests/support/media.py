"""Tiny test clips made on the spot with ffmpeg's lavfi sources (no media is committed),
and ffprobe readers for checking outputs."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path
from typing import Any

# Fast settings per encoder: test clips only need to exist, not to look good.
_FAST = {
    "libx264": ["-preset", "ultrafast"],
    "libx265": ["-preset", "ultrafast", "-x265-params", "log-level=error"],
}
# BT.2020 PQ (HDR10) tags on the container/stream.
HDR10_ARGS = ["-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc"]


def make_clip(
    path: Path,
    *,
    duration: float = 1.0,
    size: str = "320x240",
    rate: int = 25,
    audio: bool = True,
    video: bool = True,
    vcodec: str = "libx264",
    pix_fmt: str = "yuv420p",
    extra_output_args: list[str] | None = None,
) -> Path:
    """Write a short test-pattern clip (and a sine tone) to ``path``."""
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    if video:
        cmd += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={duration}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={duration}"]
    if video:
        cmd += ["-c:v", vcodec, "-pix_fmt", pix_fmt, *_FAST.get(vcodec, [])]
    if audio:
        cmd += ["-c:a", "aac"]
    cmd += list(extra_output_args or [])
    cmd += [str(path)]
    subprocess.run(cmd, check=True)
    return path


def rotate_clip(source: Path, path: Path, degrees: int = 90) -> Path:
    """Copy ``source`` to ``path`` with display-rotation metadata (no re-encode).

    FFmpeg 5.1 writes the display matrix from a ``rotate`` tag; 6.0+ dropped that and has
    ``-display_rotation`` (counter-clockwise) as an input option instead.
    """
    tagged = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
              "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", str(path)]
    subprocess.run(tagged, check=True)
    if _rotation(path) is None:
        matrix = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                  "-display_rotation", str(-degrees), "-i", str(source), "-c", "copy", str(path)]
        subprocess.run(matrix, check=True)
    return path


def _rotation(path: Path) -> float | None:
    for stream in probe_streams(path)["streams"]:
        for side in stream.get("side_data_list", []):
            if "rotation" in side:
                return float(side["rotation"])
    return None


def probe_streams(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def big_clip(path: Path, *, size_bytes: int = 11 * 1024 * 1024) -> Path:
    """A 2 s 720p clip padded to ``size_bytes`` with a trailing MP4 ``free`` box: big
    enough to go up in several multipart parts, as cheap to transcode as a tiny clip."""
    make_clip(path, duration=2.0, size="1280x720", rate=15,
              extra_output_args=["-movflags", "+faststart"])
    padding = size_bytes - path.stat().st_size
    with path.open("ab") as f:
        f.write(struct.pack(">I4s", padding, b"free") + bytes(padding - 8))
    return path


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
