"""Scrubbing previews: a sprite sheet of small frames and WebVTT cues pointing at its tiles.

One tile every ``max(MIN_INTERVAL_S, duration / MAX_TILES)``. Only keyframes are decoded
(``-skip_frame nokey``) from the smallest CMAF file, whose fragment index already says
where they are: each tile shows the last keyframe at or before its time, so the whole
step costs a few keyframe decodes per tile, not a decode of the video. The cues
(``storyboard.vtt``) cover the whole duration, each naming its tile with a media fragment
(``storyboard.jpg#xywh=x,y,w,h``), as players' thumbnail tracks expect.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from common.assets import AssetKind
from processor.cmaf import read_index
from processor.demuxers import input_args
from processor.ffmpeg import run_ffmpeg
from processor.ladder import fit
from processor.manifest import Asset

SPRITE_NAME = "storyboard.jpg"
CUES_NAME = "storyboard.vtt"
MIN_INTERVAL_S = 3.0
MAX_TILES = 100
TILE_BOX = (160, 90)  # landscape box of one tile, turned upright for portrait videos
COLUMNS = 10
_JPEG_QUALITY = "5"  # FFmpeg's -q:v for MJPEG: 2 (best) … 31; tiles are small and soft


@dataclass(frozen=True)
class Storyboard:
    interval_s: float
    tile_width: int
    tile_height: int
    frames: tuple[int, ...]  # keyframe numbers (0-based, in decode order) shown, one per tile
    cues: tuple[tuple[float, float, int], ...]  # (start, end, tile) covering the duration


def interval(duration_s: float) -> float:
    return max(MIN_INTERVAL_S, duration_s / MAX_TILES)


def plan(keyframes_s: Sequence[float], duration_s: float, width: int, height: int) -> Storyboard:
    """Which keyframes become tiles, and the cues: one per interval, merged where
    consecutive intervals show the same keyframe (keyframes sparser than the interval)."""
    step = interval(duration_s)
    picks = [max(0, bisect.bisect_right(keyframes_s, k * step + 1e-3) - 1)
             for k in range(max(1, math.ceil(duration_s / step - 1e-6)))]
    frames = tuple(sorted(set(picks)))
    tile_of = {frame: i for i, frame in enumerate(frames)}
    cues: list[tuple[float, float, int]] = []
    for k, frame in enumerate(picks):
        start, end = k * step, min((k + 1) * step, duration_s)
        if cues and cues[-1][2] == tile_of[frame]:
            cues[-1] = (cues[-1][0], end, tile_of[frame])
        else:
            cues.append((start, end, tile_of[frame]))
    tile_w, tile_h = fit(width, height, *TILE_BOX)
    return Storyboard(step, tile_w, tile_h, frames, tuple(cues))


def sprite_args(source: Path, board: Storyboard, out: Path) -> list[str]:
    """FFmpeg arguments decoding only ``source``'s keyframes into the sprite sheet."""
    choose = "+".join(f"eq(n\\,{n})" for n in board.frames)
    rows = math.ceil(len(board.frames) / COLUMNS)
    columns = min(COLUMNS, len(board.frames))
    graph = (f"select='{choose}',scale={board.tile_width}:{board.tile_height},"
             f"tile={columns}x{rows}")
    return ["-skip_frame", "nokey", *input_args(source, "mov"), "-map", "0:v:0", "-an",
            # -update: one image at exactly this name, never a "%d" pattern in the path.
            "-vf", graph, "-frames:v", "1", "-q:v", _JPEG_QUALITY, "-update", "1", str(out)]


def webvtt(board: Storyboard, sprite_uri: str = SPRITE_NAME) -> str:
    lines = ["WEBVTT", ""]
    for start, end, tile in board.cues:
        x = (tile % COLUMNS) * board.tile_width
        y = (tile // COLUMNS) * board.tile_height
        lines += [f"{_timestamp(start)} --> {_timestamp(end)}",
                  f"{sprite_uri}#xywh={x},{y},{board.tile_width},{board.tile_height}", ""]
    return "\n".join(lines)


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def make_storyboard(source: Path, outdir: Path, *, width: int, height: int, duration_s: float,
                    cancel: threading.Event | None = None) -> list[Asset]:
    """Write ``storyboard.jpg`` and ``storyboard.vtt`` for the CMAF file ``source``
    (``width``×``height``); returns their manifest entries."""
    keyframes = [f.start_s for f in read_index(source).fragments]
    board = plan(keyframes, duration_s, width, height)
    sprite, cues = outdir / SPRITE_NAME, outdir / CUES_NAME
    run_ffmpeg(sprite_args(source, board, sprite), duration_s=duration_s, cancel=cancel)
    cues.write_text(webvtt(board))
    return [Asset(AssetKind.STORYBOARD.value, SPRITE_NAME, board.tile_width, board.tile_height,
                  None, sprite.stat().st_size),
            Asset(AssetKind.STORYBOARD_VTT.value, CUES_NAME, None, None, None,
                  cues.stat().st_size, duration_s)]
