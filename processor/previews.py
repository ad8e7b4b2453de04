"""Poster thumbnail and animated GIF preview, cut from the smallest quality.

Working from the smallest quality (not the source) keeps this step cheap whatever the
source is. A one-run transcode takes them from the smallest quality's frames inside the
encode run (:func:`preview_filters`: no second decode, no second FFmpeg run); a chunked
job's stitch cuts them from the joined smallest file (:func:`preview_args`).
"""

from __future__ import annotations

import math
from pathlib import Path

from processor.demuxers import input_args
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


def preview_window(duration_s: float, rate: float = 0.0) -> tuple[float, float]:
    """Where the poster frame is and the GIF starts, and how long the GIF lasts (seconds).

    With the video's frame ``rate`` the start is a frame that exists (a one-frame clip's
    poster is its only frame, not a seek past it), and the GIF lasts at least one frame.
    """
    start = min(duration_s * _START_FRACTION, _MAX_START_S)
    frame = 1 / rate if rate > 0 else 0.0
    if frame:
        start = min(math.floor(start / frame) * frame, max(0.0, duration_s - frame))
    return start, max(frame, 0.1, min(GIF_SECONDS, duration_s - start))


def gif_filter(width: int, height: int, src: str, out: str) -> str:
    """Filter graph from ``[src]`` (a ``width``×``height`` video) to a palette GIF at ``[out]``:
    one palette for the whole loop, computed from the frames it will show."""
    gif_w, gif_h = fit(width, height, GIF_BOX, GIF_BOX)
    # eof_action=pass: a clip shorter than one GIF frame still gives that one frame.
    return (f"[{src}]fps={GIF_FPS}:eof_action=pass,scale={gif_w}:{gif_h}:flags=lanczos,"
            "split=2[g1][g2];"
            f"[g1]palettegen=max_colors={_GIF_COLORS}:stats_mode=diff[pal];"
            f"[g2][pal]paletteuse=dither=bayer:bayer_scale=4[{out}]")


def preview_filters(src: str, width: int, height: int, duration_s: float, rate: float
                    ) -> str:
    """Filter graph from ``[src]`` (the smallest quality's ``width``×``height`` frames at
    ``rate``, the first at time 0) to ``[poster]`` and ``[gif]``: the frames of
    :func:`preview_window`, picked by number so no float rounding drops the first one."""
    start, length = preview_window(duration_s, rate)
    first = round(start * rate)
    end = first + max(1, round(length * rate))
    # format= pins this branch's side of the split to the encoded rungs' yuv420p: split
    # gives every output one format, and left free it would take the JPEG encoder's
    # full-range yuvj420p for all of them, so the smallest rung would be encoded from
    # range-converted frames.
    return (f"[{src}]format=yuv420p,trim=start_frame={first}:end_frame={end},"
            f"setpts=PTS-STARTPTS,split=2[poster][g];{gif_filter(width, height, 'g', 'gif')}")


def preview_outputs(outdir: Path) -> list[str]:
    """Output options writing ``[poster]`` and ``[gif]`` to their files in ``outdir``."""
    return ["-map", "[poster]", *JPEG_ARGS, str(outdir / THUMBNAIL_NAME),
            "-map", "[gif]", *GIF_ARGS, str(outdir / PREVIEW_NAME)]


def preview_args(smallest: Path, width: int, height: int, duration_s: float,
                 outdir: Path, rate: float = 0.0) -> list[str]:
    """FFmpeg arguments writing ``thumbnail.jpg`` and ``preview.gif`` from the file
    ``smallest`` in one run."""
    start, length = preview_window(duration_s, rate)
    graph = f"[0:v]split=2[poster][g];{gif_filter(width, height, 'g', 'gif')}"
    return ["-ss", f"{start:.6f}", "-t", f"{length:.6f}", *input_args(smallest, "mov"),
            "-filter_complex", graph, *preview_outputs(outdir)]
