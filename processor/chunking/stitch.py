"""The stitch: each quality's chunks joined by stream copy, the audio added, then
packaged, previewed and described exactly as an unchunked transcode is.

The join is FFmpeg's concat demuxer over a list the worker writes of files the worker
wrote (relative names, concat's safe mode; ``file`` protocol and the mov demuxer only),
with each file's duration stated in the list (its frames at the output rate), so every
chunk's timestamps continue exactly where the previous chunk's end. Nothing is encoded:
the chunks' packets, keyframes and fragments pass through, and the muxer writes the same
CMAF layout (``processor.cmaf.MUXER_ARGS``) the one-run encode writes. What follows the
encode in ``processor.transcode`` (playlists, poster and GIF, storyboard, manifest) is
called, not repeated, so the published assets, keys and API are the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from processor.chunking.audio import rung_audio
from processor.chunking.chunk_encode import chunk_file
from processor.chunking.plan import ChunkPlan
from processor.cmaf import MUXER_ARGS
from processor.encode import Timeline
from processor.errors import TranscodeError
from processor.ffmpeg import run_ffmpeg
from processor.ffprobe import RunLimits, ffprobe_json
from processor.ladder import Rung
from processor.manifest import Manifest
from processor.packaging import cmaf_path
from processor.source_info import SourceInfo
from processor.transcode import finish

_LOCAL = ("-protocol_whitelist", "file")


def listing(files: Sequence[Path], seconds: Sequence[float]) -> str:
    """A concat list of ``files`` (all in one directory) with their durations."""
    return "".join(f"file '{f.name}'\nduration {s:.9f}\n"
                   for f, s in zip(files, seconds, strict=True))


def join_args(listing_path: Path, audio: Path | None, out: Path) -> list[str]:
    """FFmpeg arguments joining the chunks ``listing_path`` lists (and ``audio``) into
    the CMAF file ``out``, by stream copy."""
    args = [*_LOCAL, "-f", "concat", "-format_whitelist", "concat,mov",
            "-i", f"file:{listing_path}"]
    maps = ["-map", "0:v:0"]
    if audio is not None:
        args += [*_LOCAL, "-f", "mov", "-format_whitelist", "mov", "-i", f"file:{audio}"]
        maps += ["-map", "1:a:0"]
    return [*args, *maps, "-map_metadata", "-1", "-map_chapters", "-1", "-c", "copy",
            *MUXER_ARGS, str(out)]


def join_quality(plan: ChunkPlan, rung: Rung, chunks_dir: Path, audio: Path | None,
                 outdir: Path, *, cancel: threading.Event | None = None) -> Path:
    """``outdir/{quality}.mp4`` from its chunks in ``chunks_dir``; the chunk files are
    removed once joined (the stitch's disk holds one quality's chunks at a time)."""
    files = [chunk_file(chunks_dir, c, rung.name) for c in plan.chunks]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise TranscodeError(f"chunks missing for {rung.name}: {', '.join(missing[:3])}")
    check_same_parameters(files)
    index = chunks_dir / f"join_{rung.name}.txt"
    index.write_text(listing(files, [float(c.frames / plan.rate) for c in plan.chunks]))
    out = cmaf_path(outdir, rung.name)
    run_ffmpeg(join_args(index, audio, out), cancel=cancel)
    frames = video_packets(out)
    if frames != plan.total_frames:
        raise TranscodeError(f"joined {rung.name} has {frames} frames, "
                             f"the plan {plan.total_frames}")
    for f in [*files, index]:
        f.unlink()
    return out


def stitch(plan: ChunkPlan, info: SourceInfo, rungs: Sequence[Rung], timing: Timeline, *,
           chunks_dir: Path, audio_dir: Path, outdir: Path,
           cancel: threading.Event | None = None,
           before_join: Callable[[int, Rung], None] | None = None) -> Manifest:
    """Join every quality and finish the job's outputs in ``outdir``; the manifest.
    ``before_join(i, rung)`` runs before the i-th quality's join (the worker fetches that
    quality's chunks then, so its disk holds one quality's chunks at a time)."""
    outdir.mkdir(parents=True, exist_ok=True)
    for i, rung in enumerate(rungs):
        if before_join is not None:
            before_join(i, rung)
        audio = rung_audio(audio_dir, rung, rungs, plan, info) if info.has_audio else None
        join_quality(plan, rung, chunks_dir, audio, outdir, cancel=cancel)
    return finish(outdir, rungs, info, timing, cancel=cancel)


def check_same_parameters(files: Sequence[Path]) -> None:
    """The join keeps the first chunk's codec parameters (SPS/PPS): every chunk of a
    quality must have the same, or the later ones would not decode."""
    hashes = {_extradata_hash(f) for f in files}
    if len(hashes) != 1:
        raise TranscodeError(f"the chunks of {files[0].name} were encoded with different "
                             "codec parameters")


def _video_stream(path: Path, *entries: str) -> dict[str, Any]:
    data, err = ffprobe_json(path, container="mov", limits=RunLimits.for_size(
        path.stat().st_size), entries=("-select_streams", "v:0", *entries))
    streams = data.get("streams") or []
    if not streams:
        raise TranscodeError(f"ffprobe found no video in {path.name}", err)
    return dict(streams[0])


def _extradata_hash(path: Path) -> str:
    stream = _video_stream(path, "-show_entries", "stream=extradata_hash", "-show_data_hash",
                           "MD5")
    return str(stream.get("extradata_hash", ""))


def video_packets(path: Path) -> int:
    stream = _video_stream(path, "-count_packets", "-show_entries", "stream=nb_read_packets")
    return int(stream["nb_read_packets"])
