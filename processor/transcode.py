"""Transcode one source into the ladder: MP4 per quality, HLS, thumbnail, GIF, manifest.

Intake first (what the source really is, or why it is rejected), then three FFmpeg runs:
(1) decode once and encode every quality, within the budget the source's measured size
allows, (2) cut the MP4s into HLS renditions by stream copy, (3) poster and GIF from the
smallest MP4. Everything it is told comes in ``settings``; it reads no environment.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from common.assets import AssetKind
from processor.encode import encode_args, output_rate, timeline
from processor.errors import TranscodeError
from processor.ffmpeg import run_ffmpeg
from processor.ffprobe import ffprobe_json
from processor.hls import (
    HLS_DIR,
    MASTER_NAME,
    Variant,
    avc1_codec,
    master_playlist,
    package_args,
    playlist_path,
    rendition_files,
    segment_bitrates,
)
from processor.intake import intake
from processor.ladder import Rung, choose_ladder
from processor.manifest import Asset, Manifest
from processor.previews import PREVIEW_NAME, THUMBNAIL_NAME, preview_args
from processor.progress import Progress
from processor.source_info import SourceInfo
from processor.transcode_settings import TranscodeSettings

# Share of the progress bar each run gets (encoding is nearly all of the work).
_ENCODE_SHARE, _PACKAGE_SHARE = 0.92, 0.04
DEFAULT_SETTINGS = TranscodeSettings()


def transcode(
    source: Path,
    outdir: Path,
    *,
    settings: TranscodeSettings = DEFAULT_SETTINGS,
    qualities: Sequence[str] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> Manifest:
    """Transcode ``source`` into ``outdir`` and return the manifest written there.

    Raises BadInput (the source can never work, or its encode ran past its budget),
    Cancelled (``cancel`` was set) or TranscodeError (FFmpeg failed).
    """
    info = intake(source, settings.limits)
    rungs = choose_ladder(info.width, info.height, qualities)
    timing = timeline(info, settings.limits.max_duration_s)
    outdir.mkdir(parents=True, exist_ok=True)
    mp4s = [outdir / f"{r.name}.mp4" for r in rungs]

    def stage(low: float, high: float) -> Callable[[Progress], None] | None:
        if on_progress is None:
            return None
        report = on_progress
        return lambda p: report(replace(p, fraction=low + (high - low) * p.fraction))

    run_ffmpeg(encode_args(source, mp4s, info, rungs, settings.encode, timing),
               duration_s=timing.seconds, on_progress=stage(0.0, _ENCODE_SHARE), cancel=cancel,
               budget=settings.budget.for_source(info))
    shutil.rmtree(outdir / HLS_DIR, ignore_errors=True)  # no stale renditions of earlier runs
    run_ffmpeg(package_args(mp4s, [r.name for r in rungs], outdir), duration_s=timing.seconds,
               on_progress=stage(_ENCODE_SHARE, _ENCODE_SHARE + _PACKAGE_SHARE), cancel=cancel)
    smallest = min(range(len(rungs)), key=lambda i: rungs[i].pixels)
    run_ffmpeg(preview_args(mp4s[smallest], rungs[smallest].width, rungs[smallest].height,
                            timing.seconds, outdir, rate=float(timing.rate)),
               duration_s=timing.seconds, on_progress=None, cancel=cancel)
    assets, variants = describe_renditions(outdir, rungs, mp4s, info)
    write_master(outdir, variants)
    assets += describe_extras(outdir, assets, info.duration_s)
    manifest = Manifest(source=info, assets=assets).write(outdir)
    if on_progress is not None:
        on_progress(Progress(fraction=1.0, speed=None, out_time_s=timing.seconds))
    return manifest


def describe_renditions(outdir: Path, rungs: Sequence[Rung], mp4s: Sequence[Path],
                        info: SourceInfo) -> tuple[list[Asset], list[Variant]]:
    """Probe each quality's MP4 and HLS rendition: their manifest entries, and the master
    playlist's variants (bandwidths come from the packaged segments)."""
    assets: list[Asset] = []
    variants: list[Variant] = []
    fps = float(output_rate(info))
    for rung, mp4 in zip(rungs, mp4s, strict=True):
        data, err = ffprobe_json(mp4, container="mov")
        video = next((s for s in data.get("streams", []) if s.get("codec_type") == "video"), None)
        if video is None:
            raise TranscodeError(f"encoded {mp4.name} has no video stream", err)
        width, height = int(video["width"]), int(video["height"])
        duration = float(data["format"].get("duration") or info.duration_s)
        assets.append(Asset(AssetKind.MP4.value, _rel(mp4, outdir), width, height,
                            int(data["format"].get("bit_rate") or 0), mp4.stat().st_size,
                            duration, rung.name))
        playlist = playlist_path(outdir, rung.name)
        rates = segment_bitrates(playlist) or [0]
        size = sum(f.stat().st_size for f in rendition_files(playlist))
        codecs = avc1_codec(video.get("profile", "High"), int(video.get("level") or 40))
        if info.has_audio:
            codecs += ",mp4a.40.2"
        average = round(size * 8 / duration) if duration > 0 else 0
        variants.append(Variant(rung.name, width, height, fps, codecs, max(rates), average))
        assets.append(Asset(AssetKind.HLS_PLAYLIST.value, _rel(playlist, outdir), width, height,
                            max(rates), size, duration, rung.name))
    return assets, variants


def write_master(outdir: Path, variants: Sequence[Variant]) -> Path:
    master = outdir / HLS_DIR / MASTER_NAME
    master.write_text(master_playlist(variants))
    return master


def describe_extras(outdir: Path, renditions: Sequence[Asset], duration_s: float
                    ) -> list[Asset]:
    """Manifest entries of the master playlist, the poster and the GIF (already written)."""
    smallest = min(renditions, key=lambda a: (a.width or 0) * (a.height or 0))
    extras = [(AssetKind.HLS_MASTER, outdir / HLS_DIR / MASTER_NAME, None, None),
              (AssetKind.THUMBNAIL, outdir / THUMBNAIL_NAME, smallest.width, smallest.height),
              (AssetKind.PREVIEW, outdir / PREVIEW_NAME, None, None)]
    return [Asset(kind.value, _rel(path, outdir), w, h, None, path.stat().st_size,
                  duration_s if kind == AssetKind.HLS_MASTER else None)
            for kind, path, w, h in extras]


def _rel(path: Path, outdir: Path) -> str:
    return path.relative_to(outdir).as_posix()
