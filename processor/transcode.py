"""Transcode one source into the ladder: a CMAF file per quality, HLS playlists over them,
thumbnail, GIF, storyboard, manifest.

Three FFmpeg runs: (1) decode once and encode every quality into its fragmented MP4, (2)
poster and GIF from the smallest quality, (3) the storyboard from its keyframes only.
Packaging after (1) reads the files' boxes and writes the byte-range playlists; it encodes
nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from common.models import AssetKind
from processor.encode import EncodeSettings, encode_args
from processor.ffmpeg import run_ffmpeg
from processor.ladder import Rung, choose_ladder
from processor.limits import DEFAULT_LIMITS, Limits
from processor.manifest import Asset, Manifest
from processor.packaging import cmaf_path, package
from processor.previews import PREVIEW_NAME, THUMBNAIL_NAME, preview_args
from processor.probe import SourceInfo, probe
from processor.progress import Progress
from processor.settings import ProcessorSettings
from processor.storyboard import make_storyboard

# Share of the progress bar the encode gets (nearly all of the work).
_ENCODE_SHARE = 0.95


def transcode(
    source: Path,
    outdir: Path,
    *,
    limits: Limits = DEFAULT_LIMITS,
    qualities: Sequence[str] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    preset: str | None = None,
) -> Manifest:
    """Transcode ``source`` into ``outdir`` and return the manifest written there.

    Raises BadInput (the source can never work), Cancelled (``cancel`` was set) or
    TranscodeError (FFmpeg failed). ``preset`` defaults to ``VF_X264_PRESET``.
    """
    info = probe(source, limits)
    rungs = choose_ladder(info.width, info.height, qualities)
    settings = EncodeSettings(preset=preset or ProcessorSettings().x264_preset)
    outdir.mkdir(parents=True, exist_ok=True)
    files = [cmaf_path(outdir, r.name) for r in rungs]

    def stage(low: float, high: float) -> Callable[[Progress], None] | None:
        if on_progress is None:
            return None
        report = on_progress
        return lambda p: report(replace(p, fraction=low + (high - low) * p.fraction))

    run_ffmpeg(encode_args(source, files, info, rungs, settings), duration_s=info.duration_s,
               on_progress=stage(0.0, _ENCODE_SHARE), cancel=cancel)
    assets = package(outdir, rungs, info)
    assets += previews(outdir, rungs, info, cancel=cancel)
    smallest = min(rungs, key=lambda r: r.pixels)
    assets += make_storyboard(cmaf_path(outdir, smallest.name), outdir, width=smallest.width,
                              height=smallest.height, duration_s=info.duration_s, cancel=cancel)
    manifest = Manifest(source={"name": source.name, **info.to_dict()}, assets=assets).write(outdir)
    if on_progress is not None:
        on_progress(Progress(fraction=1.0, speed=None, out_time_s=info.duration_s))
    return manifest


def previews(outdir: Path, rungs: Sequence[Rung], info: SourceInfo, *,
             cancel: threading.Event | None = None) -> list[Asset]:
    """Poster and GIF from the smallest quality, as manifest entries."""
    smallest = min(rungs, key=lambda r: r.pixels)
    run_ffmpeg(preview_args(cmaf_path(outdir, smallest.name), smallest.width, smallest.height,
                            info.duration_s, outdir),
               duration_s=info.duration_s, on_progress=None, cancel=cancel)
    return [Asset(AssetKind.THUMBNAIL.value, THUMBNAIL_NAME, smallest.width, smallest.height,
                  None, (outdir / THUMBNAIL_NAME).stat().st_size),
            Asset(AssetKind.PREVIEW.value, PREVIEW_NAME, None, None, None,
                  (outdir / PREVIEW_NAME).stat().st_size)]

