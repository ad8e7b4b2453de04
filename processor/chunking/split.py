"""The split: each chunk's part of the source, cut by stream copy.

A part is the video packets from the keyframe its chunk's plan names to the first
keyframe a little past the chunk's last frame: copied, not decoded (disk speed, no
encode), so a chunk task downloads about its own share of the source, never all of it.
Parts keep the source's timestamps (``-copyts``): a chunk's frames are placed on the
output timeline by them. The first part is the source's beginning and needs no clock (its
chunk starts at its first frame, as the whole encode does).

Where a part ends is counted in packets (``-frames:v``, the same in every FFmpeg), from
the packet scan the plan was made from, not left to a time limit whose meaning differs
between FFmpeg versions once timestamps are copied.

Parts are NUT files: NUT stores the stream's own time base (timestamps exact, where
Matroska rounds them to milliseconds) and any codec. FFmpeg only ever opens the source
itself (container forced, ``file`` protocol only) and files the worker wrote.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from processor.chunking.plan import Chunk, ChunkPlan
from processor.chunking.source import Packet, probe_packets
from processor.demuxers import input_args
from processor.errors import TranscodeError
from processor.ffmpeg import run_ffmpeg

PART_FORMAT = "nut"
# A part runs to the first keyframe at least this far past its chunk's last frame, so the
# frames around the cut (and a rate conversion's pick for the last slot) decode as they
# do in the whole source.
_TAIL_S = 0.5
# Seek a hair past the keyframe asked for: FFmpeg seeks to the keyframe at or before the
# point, and the keyframe's time as printed may round down past it.
_SEEK_SLACK_S = 0.0005
# How far (seconds) a part's first packet may be from the keyframe planned.
_START_TOLERANCE_S = 0.001


def part_name(chunk: Chunk) -> str:
    return f"part_{chunk.index:04d}.{PART_FORMAT}"


def video_part_args(source: Path, container: str | None, *, video_index: int,
                    start_s: float | None, packets: int | None, out: Path) -> list[str]:
    """FFmpeg arguments copying ``packets`` video packets of ``source`` (None: to the end)
    from the keyframe at ``start_s`` (None: the beginning) into ``out``."""
    seek = ["-seek_timestamp", "1", "-ss", f"{start_s + _SEEK_SLACK_S:.6f}"] \
        if start_s is not None else []
    limit = ["-frames:v", str(packets)] if packets is not None else []
    return ["-copyts", *seek, *input_args(source, container), "-map", f"0:{video_index}",
            "-c", "copy", *limit, "-f", PART_FORMAT, str(out)]


def part_packets(packets: Sequence[Packet], plan: ChunkPlan, chunk: Chunk) -> int | None:
    """How many packets (file order) ``chunk``'s part holds; None: to the end."""
    start = 0 if chunk.part_start_s is None else _position_of(packets, chunk.part_start_s)
    if chunk.index == plan.chunks[-1].index:
        return None
    # A copied top rung's part is exactly its chunk: it ends at the next cut's keyframe.
    after = plan.end_s(chunk) + (-float(1 / plan.rate) / 2 if plan.copied_top else _TAIL_S)
    for position in range(start + 1, len(packets)):
        if packets[position].key and packets[position].pts_s >= after:
            return position - start
    return None


def _position_of(packets: Sequence[Packet], pts_s: float) -> int:
    for position, packet in enumerate(packets):
        if packet.key and abs(packet.pts_s - pts_s) <= _START_TOLERANCE_S:
            return position
    raise TranscodeError(f"no keyframe at {pts_s:.3f} s in the packet scan")


def split_video(source: Path, container: str | None, plan: ChunkPlan, *, video_index: int,
                packets: Sequence[Packet], workdir: Path,
                cancel: threading.Event | None = None,
                on_part: Callable[[Chunk, Path], None] | None = None) -> list[Path]:
    """One part per chunk of ``plan`` in ``workdir``, each checked to start where planned.

    ``packets``: the video's packets in file order (``source.probe_packets``);
    ``on_part`` hears of each part as soon as it is cut (its chunk can start; the worker
    uploads it, then deletes it, so its disk holds the source and one part)."""
    workdir.mkdir(parents=True, exist_ok=True)
    parts = []
    for chunk in plan.chunks:
        out = workdir / part_name(chunk)
        run_ffmpeg(video_part_args(source, container, video_index=video_index,
                                   start_s=chunk.part_start_s,
                                   packets=part_packets(packets, plan, chunk), out=out),
                   cancel=cancel)
        if chunk.part_start_s is not None:
            check_part_start(out, chunk.part_start_s)
        parts.append(out)
        if on_part is not None:
            on_part(chunk, out)
    return parts


def check_part_start(part: Path, expected_s: float) -> None:
    """A part must begin with the keyframe planned: a later one would lose the chunk's
    first frames, a shifted clock would misplace them all."""
    first = probe_packets(part, PART_FORMAT, index=0, limit=1)
    if not first or not first[0].key:
        raise TranscodeError(f"{part.name} does not start with a keyframe")
    if abs(first[0].pts_s - expected_s) > _START_TOLERANCE_S:
        raise TranscodeError(f"{part.name} starts at {first[0].pts_s:.6f} s, not at the "
                             f"keyframe planned at {expected_s:.6f} s")


def keyframes_of(packets: Sequence[Packet]) -> list[float]:
    """Keyframe times, ascending (file order is decode order; keyframes come in order)."""
    keys = [p.pts_s for p in packets if p.key]
    ordered: list[float] = []
    for key in keys:
        if ordered and key <= ordered[-1]:
            raise TranscodeError("the video's keyframe timestamps do not increase")
        ordered.insert(bisect.bisect(ordered, key), key)
    return ordered
