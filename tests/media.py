"""Tiny test clips made on the spot with ffmpeg's lavfi sources (no media is committed)."""

from __future__ import annotations

import subprocess
from pathlib import Path


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
        cmd += ["-c:v", vcodec, "-pix_fmt", pix_fmt]
        if vcodec == "libx264":
            cmd += ["-preset", "ultrafast"]
    if audio:
        cmd += ["-c:a", "aac"]
    cmd += list(extra_output_args or [])
    cmd += [str(path)]
    subprocess.run(cmd, check=True)
    return path


def probe_streams(path: Path) -> dict:
    import json

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)
