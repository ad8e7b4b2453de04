"""A short generated clip for ``videoforge up --sample`` (no media is shipped)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_sample(path: Path, *, seconds: float = 3.0, size: str = "1280x720",
                rate: int = 15) -> Path:
    """A test pattern with a tone: 720p, so the ladder yields 480p and 720p."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path)],
        check=True,
    )
    return path
