"""Poster thumbnail and animated GIF preview, cut from the smallest encoded quality.

Working from the smallest MP4 (not the source) keeps this step cheap whatever the source is.
"""

from __future__ import annotations

from pathlib import Path

from processor.ladder import fit

THUMBNAIL_NAME = "thumbnail.jpg"
PREVIEW_NAME = "preview.gif"
# The poster and the GIF start a little into the video (openings are often black)…
_START_FRACTION = 0.1
_MAX_START_S = 10.0
# …and the GIF is a short, small, low-rate loop.
GIF_SECONDS = 3.0
GIF_FPS = 8
GIF_BOX = 320
_GIF_COLORS = 128
JPEG_ARGS = ("-frames:v", "1", "-q:v", "3", "-update", "1")
GIF_ARGS = ("-loop", "0")


def preview_window(duration_s: float) -> tuple[float, float]:
    """Where the poster frame is and the GIF starts, and how long the GIF lasts (seconds)."""
    start = min(duration_s * _START_FRACTION, _MAX_START_S)
    return start, max(0.1, min(GIF_SECONDS, duration_s - start))


def gif_filter(width: int, height: int, src: str, out: str) -> str:
    """Filter graph from ``[src]`` (a ``width``×``height`` video) to a palette GIF at ``[out]``:
    one palette for the whole loop, computed from the frames it will show."""
    gif_w, gif_h = fit(width, height, GIF_BOX, GIF_BOX)
    return (f"[{src}]fps={GIF_FPS},scale={gif_w}:{gif_h}:flags=lanczos,split=2[g1][g2];"
            f"[g1]palettegen=max_colors={_GIF_COLORS}:stats_mode=diff[pal];"
            f"[g2][pal]paletteuse=dither=bayer:bayer_scale=4[{out}]")


def preview_args(smallest: Path, width: int, height: int, duration_s: float,
                 outdir: Path) -> list[str]:
    """FFmpeg arguments writing ``thumbnail.jpg`` and ``preview.gif`` in one run."""
    start, length = preview_window(duration_s)
    graph = f"[0:v]split=2[poster][g];{gif_filter(width, height, 'g', 'gif')}"
    return ["-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(smallest),
            "-filter_complex", graph,
            "-map", "[poster]", *JPEG_ARGS, str(outdir / THUMBNAIL_NAME),
            "-map", "[gif]", *GIF_ARGS, str(outdir / PREVIEW_NAME)]
