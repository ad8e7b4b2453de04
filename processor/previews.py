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


def preview_args(smallest: Path, width: int, height: int, duration_s: float,
                 outdir: Path) -> list[str]:
    """FFmpeg arguments writing ``thumbnail.jpg`` and ``preview.gif`` in one run."""
    start = min(duration_s * _START_FRACTION, _MAX_START_S)
    length = max(0.1, min(GIF_SECONDS, duration_s - start))
    gif_w, gif_h = fit(width, height, GIF_BOX, GIF_BOX)
    graph = (f"[0:v]split=2[poster][g];"
             f"[g]fps={GIF_FPS},scale={gif_w}:{gif_h}:flags=lanczos,split=2[g1][g2];"
             f"[g1]palettegen=max_colors={_GIF_COLORS}:stats_mode=diff[pal];"
             f"[g2][pal]paletteuse=dither=bayer:bayer_scale=4[gif]")
    return ["-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(smallest),
            "-filter_complex", graph,
            "-map", "[poster]", "-frames:v", "1", "-q:v", "3", "-update", "1",
            str(outdir / THUMBNAIL_NAME),
            "-map", "[gif]", "-loop", "0", str(outdir / PREVIEW_NAME)]
