"""One chunk: the whole ladder for a range of the output timeline, video only.

The chunk runs the pipeline's own ``encode_args`` (the same filter graph and codec
options as an unchunked job) on its part, with the timeline windowed to its frames:
the part keeps the source's clock (``-copyts``), output frame 0 is placed where the whole
encode places it (``origin_s``), and the frames decoded before the chunk's first one are
dropped before any scaling or encoding. So every frame a chunk hands the encoder is the
frame the unchunked encode hands it at that position, and its first frame is a keyframe
in every quality (boundaries are GOP multiples). Audio is not encoded here: it is encoded
once for the whole source (``processor.chunking.audio``).

Rate control at a chunk's start: x264 begins an encode with its VBV buffer 90 % full,
where a running encode arrives at a GOP boundary with less; every chunk but the first
would spend that difference at once (up to 0.9 × bufsize of extra bits), which inflates
the size and the first segment's peak rate above the cap. Chunks after the first start
with ``vbv_init`` instead (VF_CHUNK_VBV_INIT), which keeps the joined stream near the
unchunked one's size and within its VBV model.

With the top rung copied (passthrough, ``plan.gop`` 0) the chunk's boundaries are source
keyframes and its part is exactly its frames: the top rung's chunk is that part copied
into a CMAF file, and the lower rungs are encoded with keyframes forced where the source
has them (``passthrough.following_codec_args``, as the unchunked passthrough does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from processor.chunking.plan import Chunk, ChunkPlan
from processor.chunking.split import PART_FORMAT
from processor.cmaf import MUXER_ARGS
from processor.demuxers import input_args
from processor.encode import EncodeSettings, Timeline, encode_args, ladder_graph, stream_maps
from processor.ladder import Rung, top_rung
from processor.passthrough import copied_video_args, following_codec_args
from processor.source_info import SourceInfo


def chunk_file(workdir: Path, chunk: Chunk, quality: str) -> Path:
    return workdir / f"chunk_{chunk.index:04d}_{quality}.mp4"


def chunk_timeline(plan: ChunkPlan, chunk: Chunk) -> Timeline:
    """The window of the output timeline ``chunk`` encodes."""
    if chunk.part_start_s is None:  # the source's beginning: the whole encode's start
        return Timeline(plan.rate, chunk.frames)
    decoded_from = max(0, math.floor((chunk.part_start_s - plan.origin_s) * plan.rate))
    return Timeline(plan.rate, chunk.frames, first=chunk.first, origin_s=plan.origin_s,
                    decoded_from=decoded_from)


def chunk_args(part: Path, outputs: Sequence[Path], info: SourceInfo, rungs: Sequence[Rung],
               settings: EncodeSettings, plan: ChunkPlan, chunk: Chunk, *,
               vbv_init: float | None) -> list[str]:
    """FFmpeg arguments encoding ``chunk`` of every rung from its ``part``."""
    video_only = replace(info, audio=None, container=PART_FORMAT)
    timing = chunk_timeline(plan, chunk)
    if chunk.index > 0 and vbv_init is not None:
        settings = replace(settings, vbv_init=vbv_init)
    keep_clock = ["-copyts"] if timing.origin_s is not None else []
    return [*keep_clock, *encode_args(part, outputs, video_only, rungs, settings, timing)]


def chunk_commands(part: Path, outputs: Sequence[Path], info: SourceInfo,
                   rungs: Sequence[Rung], settings: EncodeSettings, plan: ChunkPlan,
                   chunk: Chunk, *, vbv_init: float | None) -> list[list[str]]:
    """The FFmpeg runs making ``chunk``'s file of every rung from its ``part``."""
    if not plan.copied_top:
        return [chunk_args(part, outputs, info, rungs, settings, plan, chunk,
                           vbv_init=vbv_init)]
    top = top_rung(rungs)
    out_of = dict(zip((r.name for r in rungs), outputs, strict=True))
    # No clock kept: the copy starts at zero, as the encoded chunks do.
    runs = [[*input_args(part, PART_FORMAT), *copied_video_args(0), *MUXER_ARGS,
             str(out_of[top.name])]]
    lower = [r for r in rungs if r is not top]
    if lower:
        video_only = replace(info, audio=None, container=PART_FORMAT,
                             video=replace(info.video, index=0))
        timing = chunk_timeline(plan, chunk)
        if chunk.index > 0 and vbv_init is not None:
            settings = replace(settings, vbv_init=vbv_init)
        graph = ladder_graph(video_only, lower, timing)
        args = ["-copyts"] if timing.origin_s is not None else []
        args += [*input_args(part, PART_FORMAT), "-filter_complex", graph.text]
        for index, rung in enumerate(lower):
            args += [*stream_maps(graph, index),
                     *following_codec_args(rung, video_only, settings, timing),
                     *MUXER_ARGS, str(out_of[rung.name])]
        runs.append(args)
    return runs
