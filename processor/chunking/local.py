"""A chunked transcode in one process: plan, split, every chunk, the audio, the stitch.

The worker runs the same steps as separate tasks on different machines
(``processor/chunking/tasks.py``); this runs them in a row, for ``videoforge
transcode --chunk`` and for the tests that compare a chunked job's outputs with an
unchunked one's.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from processor.chunking.audio import audio_args, copies_audio
from processor.chunking.chunk_encode import chunk_commands, chunk_file
from processor.chunking.plan import ChunkPolicy, Decision
from processor.chunking.prepare import plan_source
from processor.chunking.split import split_video
from processor.chunking.stitch import stitch
from processor.encode import timeline
from processor.ffmpeg import run_ffmpeg
from processor.intake import intake
from processor.ladder import choose_ladder
from processor.manifest import Manifest
from processor.transcode import transcode
from processor.transcode_settings import TranscodeSettings

DEFAULT_VBV_INIT = 0.5


@dataclass(frozen=True)
class Result:
    manifest: Manifest
    decision: Decision


def transcode_chunked(source: Path, outdir: Path, *, settings: TranscodeSettings,
                      policy: ChunkPolicy, workdir: Path,
                      qualities: Sequence[str] | None = None,
                      vbv_init: float | None = DEFAULT_VBV_INIT,
                      cancel: threading.Event | None = None) -> Result:
    """Transcode ``source`` into ``outdir`` in chunks when the policy allows, else whole."""
    info = intake(source, settings.limits)
    rungs = choose_ladder(info.width, info.height, qualities)
    timing = timeline(info, settings.limits.max_duration_s)
    scan = plan_source(source, info, rungs, timing, policy,
                       passthrough_on=settings.passthrough)
    decision, plan = scan.decision, scan.decision.plan
    if plan is None:
        manifest = transcode(source, outdir, settings=settings, qualities=qualities,
                             cancel=cancel, info=info)
        return Result(manifest, decision)
    parts = split_video(source, info.container, plan, video_index=info.video.index,
                        packets=scan.packets, workdir=workdir / "parts", cancel=cancel)
    chunks_dir = workdir / "chunks"
    chunks_dir.mkdir(parents=True, exist_ok=True)
    for chunk, part in zip(plan.chunks, parts, strict=True):
        outputs = [chunk_file(chunks_dir, chunk, r.name) for r in rungs]
        for args in chunk_commands(part, outputs, info, rungs, settings.encode, plan, chunk,
                                   vbv_init=vbv_init):
            run_ffmpeg(args, cancel=cancel, budget=settings.budget.for_source(
                replace(info, duration_s=plan.decoded_s(chunk))))
    audio_dir = workdir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    if info.has_audio:
        run_ffmpeg(audio_args(source, info, rungs, timing, audio_dir,
                              copy=copies_audio(plan, info)), cancel=cancel)
    manifest = stitch(plan, info, rungs, timing, chunks_dir=chunks_dir, audio_dir=audio_dir,
                      outdir=outdir, cancel=cancel)
    return Result(manifest, decision)
