"""Transcode one source into the ladder: MP4 per quality, HLS, thumbnail, GIF, manifest.

Three FFmpeg runs: (1) decode once and encode every quality, (2) cut the MP4s into HLS
renditions by stream copy, (3) poster and GIF from the smallest MP4.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from common.models import AssetKind
from processor.encode import EncodeSettings, encode_args, output_rate
from processor.errors import TranscodeError
from processor.ffmpeg import run_ffmpeg
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
from processor.ladder import Rung, choose_ladder
from processor.limits import DEFAULT_LIMITS, Limits
from processor.manifest import Asset, Manifest
from processor.previews import PREVIEW_NAME, THUMBNAIL_NAME, preview_args
from processor.probe import SourceInfo, ffprobe_json, probe
from processor.progress import Progress
from processor.settings import ProcessorSettings

# Share of the progress bar each run gets (encoding is nearly all of the work).
_ENCODE_SHARE, _PACKAGE_SHARE = 0.92, 0.04


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
    mp4s = [outdir / f"{r.name}.mp4" for r in rungs]

    def stage(low: float, high: float) -> Callable[[Progress], None] | None:
        if on_progress is None:
            return None
        report = on_progress
        return lambda p: report(replace(p, fraction=low + (high - low) * p.fraction))

    run_ffmpeg(encode_args(source, mp4s, info, rungs, settings), duration_s=info.duration_s,
               on_progress=stage(0.0, _ENCODE_SHARE), cancel=cancel)
    shutil.rmtree(outdir / HLS_DIR, ignore_errors=True)  # no stale renditions of earlier runs
    run_ffmpeg(package_args(mp4s, [r.name for r in rungs], outdir), duration_s=info.duration_s,
               on_progress=stage(_ENCODE_SHARE, _ENCODE_SHARE + _PACKAGE_SHARE), cancel=cancel)
    smallest = min(range(len(rungs)), key=lambda i: rungs[i].pixels)
    run_ffmpeg(preview_args(mp4s[smallest], rungs[smallest].width, rungs[smallest].height,
                            info.duration_s, outdir),
               duration_s=info.duration_s, on_progress=None, cancel=cancel)
    assets = describe_outputs(outdir, rungs, mp4s, info)
    manifest = Manifest(source={"name": source.name, **info.to_dict()}, assets=assets).write(outdir)
    if on_progress is not None:
        on_progress(Progress(fraction=1.0, speed=None, out_time_s=info.duration_s))
    return manifest


def describe_outputs(outdir: Path, rungs: Sequence[Rung], mp4s: Sequence[Path],
                     info: SourceInfo) -> list[Asset]:
    """Probe the outputs into manifest entries; writes ``hls/master.m3u8`` on the way, as
    its bandwidths come from the packaged segments."""
    assets: list[Asset] = []
    variants: list[Variant] = []
    fps = float(output_rate(info))
    for rung, mp4 in zip(rungs, mp4s, strict=True):
        data, err = ffprobe_json(mp4)
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
    master = outdir / HLS_DIR / MASTER_NAME
    master.write_text(master_playlist(variants))
    smallest = min(assets, key=lambda a: (a.width or 0) * (a.height or 0))
    previews = [(AssetKind.HLS_MASTER, master, None, None),
                (AssetKind.THUMBNAIL, outdir / THUMBNAIL_NAME, smallest.width, smallest.height),
                (AssetKind.PREVIEW, outdir / PREVIEW_NAME, None, None)]
    for kind, path, w, h in previews:
        assets.append(Asset(kind.value, _rel(path, outdir), w, h, None, path.stat().st_size,
                            info.duration_s if kind == AssetKind.HLS_MASTER else None))
    return assets


def _rel(path: Path, outdir: Path) -> str:
    return path.relative_to(outdir).as_posix()
