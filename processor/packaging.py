"""Package encoded CMAF files: HLS playlists over them and their manifest entries.

Input: one fragmented MP4 per quality (however they were made: one FFmpeg run, or chunk
outputs joined by stream copy). Output: ``hls/{q}.m3u8`` per quality, ``hls/master.m3u8``
and the manifest assets of both. The media itself is never copied or rewritten.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common.assets import AssetKind
from processor.cmaf import read_index
from processor.errors import TranscodeError
from processor.ffprobe import ffprobe_json
from processor.hls import (
    AAC_LC,
    HLS_DIR,
    MASTER_NAME,
    Variant,
    avc1_codec,
    check_aligned,
    master_playlist,
    playlist_path,
    segment_bitrates,
    segment_starts,
    variant_playlist,
)
from processor.ladder import Rung
from processor.manifest import Asset
from processor.source_info import SourceInfo

# RFC 6381 object types of the AAC profiles FFmpeg reports.
_AAC_CODECS = {"LC": AAC_LC, "HE-AAC": "mp4a.40.5", "HE-AACv2": "mp4a.40.29"}


def cmaf_path(outdir: Path, quality: str) -> Path:
    return outdir / f"{quality}.mp4"


def package(outdir: Path, rungs: Sequence[Rung], info: SourceInfo) -> list[Asset]:
    """Write the playlists for the CMAF files of ``rungs`` in ``outdir``; return the
    manifest entries of the files and the playlists (MP4 and HLS playlist per quality,
    then the master). TranscodeError if a file is not packageable or not aligned."""
    files = [cmaf_path(outdir, r.name) for r in rungs]
    indexes = [read_index(f) for f in files]
    check_aligned([(r.name, i) for r, i in zip(rungs, indexes, strict=True)])
    # One segmentation for every quality (they are aligned), so players switch anywhere.
    starts = segment_starts(indexes[0])
    shutil.rmtree(outdir / HLS_DIR, ignore_errors=True)  # no stale playlists of earlier runs
    (outdir / HLS_DIR).mkdir(parents=True)
    assets: list[Asset] = []
    variants: list[Variant] = []
    # One ffprobe per file, all at once: each is mostly process start-up, not work.
    with ThreadPoolExecutor(len(files)) as pool:
        probed = list(pool.map(_streams, files))
    for rung, path, index, streams in zip(rungs, files, indexes, probed, strict=True):
        video = streams["video"]
        width, height = int(video["width"]), int(video["height"])
        duration = index.duration_s or info.duration_s
        average = round(index.media_size * 8 / duration) if duration > 0 else 0
        assets.append(Asset(AssetKind.MP4.value, path.name, width, height, average,
                            path.stat().st_size, duration, rung.name))
        playlist = playlist_path(outdir, rung.name)
        playlist.write_text(variant_playlist(index, starts, f"../{path.name}"))
        peak = max(segment_bitrates(index, starts), default=average)
        variants.append(Variant(rung.name, width, height, _fps(video), _codecs(streams),
                                peak, average))
        assets.append(Asset(AssetKind.HLS_PLAYLIST.value, _rel(playlist, outdir), width,
                            height, peak, playlist.stat().st_size, duration, rung.name))
    master = outdir / HLS_DIR / MASTER_NAME
    master.write_text(master_playlist(variants))
    assets.append(Asset(AssetKind.HLS_MASTER.value, _rel(master, outdir), None, None, None,
                        master.stat().st_size, info.duration_s))
    return assets


def _streams(path: Path) -> dict[str, dict[str, Any]]:
    data, err = ffprobe_json(path, container="mov")
    found: dict[str, dict[str, Any]] = {}
    for stream in data.get("streams", []):
        found.setdefault(stream.get("codec_type", ""), stream)
    if "video" not in found:
        raise TranscodeError(f"encoded {path.name} has no video stream", err)
    return found


def _codecs(streams: dict[str, dict[str, Any]]) -> str:
    video = streams["video"]
    codecs = avc1_codec(video.get("profile", "High"), int(video.get("level") or 40))
    audio = streams.get("audio")
    if audio is not None:
        codecs += "," + _AAC_CODECS.get(audio.get("profile", "LC"), AAC_LC)
    return codecs


def _fps(video: dict[str, Any]) -> float:
    rate = video.get("avg_frame_rate") or video.get("r_frame_rate") or "0/1"
    num, _, den = str(rate).partition("/")
    try:
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return 0.0


def _rel(path: Path, outdir: Path) -> str:
    return path.relative_to(outdir).as_posix()
