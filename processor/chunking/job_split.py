"""The split step of a long job, run by the worker that claimed the job as a whole.

With the source downloaded and measured, it decides whether the job is chunked
(``prepare.plan_source``: over the threshold, keyframes dense enough, or the top rung
copied: cut at its keyframes). If so it cuts every chunk's part by stream copy (disk
speed, nothing decoded), uploads each part as it is cut (then deletes it) and
``plan.json`` to the job's work
prefix (``work.py``), and returns the tasks to insert: the audio (when the source has
any), one per chunk, the stitch. The caller inserts them (``task_state.split``) once the
job's heartbeat has stopped.

Each task's estimated work is its share of the job's: a chunk's decoded seconds (its
preroll counted) over the source's; the audio and the stitch a small fixed share (they
copy and encode audio only; ``make bench-chunked`` measures them).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from common.logging import get_logger
from common.models import TaskKind
from common.task_state import NewTask
from processor.chunking.plan import Chunk
from processor.chunking.prepare import plan_source
from processor.chunking.settings import ChunkingSettings
from processor.chunking.split import split_video
from processor.chunking.work import JobPlan, WorkStore, part_key
from processor.encode import timeline
from processor.ladder import choose_ladder
from processor.source_info import SourceInfo
from processor.transcode_settings import TranscodeSettings

log = get_logger(__name__)

# Shares of the job's estimated work the audio and the stitch are counted as.
AUDIO_SHARE = 0.02
STITCH_SHARE = 0.03


@dataclass(frozen=True)
class Split:
    """A job cut into tasks, its parts uploaded; ``shares`` are each task's share of the
    job's estimated work (the caller turns them into seconds with the job's estimate)."""

    plan: JobPlan
    tasks: list[tuple[TaskKind, dict[str, int], float]]

    def new_tasks(self, job_estimate_s: float | None) -> list[NewTask]:
        return [NewTask(kind, seq, spec, share * job_estimate_s if job_estimate_s else None)
                for seq, (kind, spec, share) in enumerate(self.tasks)]


def prepare_split(source: Path, info: SourceInfo, *, qualities: list[str] | None,
                  transcode: TranscodeSettings, chunking: ChunkingSettings,
                  store: WorkStore, workdir: Path,
                  cancel: threading.Event | None = None) -> Split | None:
    """Cut ``source`` into parts and upload them, or None: it is transcoded whole."""
    if not chunking.chunking:
        return None
    rungs = choose_ladder(info.width, info.height, qualities)
    timing = timeline(info, transcode.limits.max_duration_s)
    scan = plan_source(source, info, rungs, timing, chunking.chunk_policy(),
                       passthrough_on=transcode.passthrough)
    plan = scan.decision.plan
    log.info("chunking_decision", chunked=plan is not None, reason=scan.decision.reason)
    if plan is None:
        return None

    def upload(chunk: Chunk, part: Path) -> None:
        store.put(part, part_key(chunk))
        part.unlink()  # the disk holds the source and one part at a time

    split_video(source, info.container, plan, video_index=info.video.index,
                packets=scan.packets, workdir=workdir / "parts", cancel=cancel,
                on_part=upload)
    job_plan = JobPlan(info, plan, qualities, timing.frames, transcode.encode.preset,
                       chunking.chunk_vbv_init)
    store.put_plan(job_plan)
    total = max(timing.seconds, 1e-9)
    tasks: list[tuple[TaskKind, dict[str, int], float]] = []
    if info.has_audio:
        tasks.append((TaskKind.AUDIO, {}, AUDIO_SHARE))
    tasks += [(TaskKind.CHUNK, {"index": c.index}, plan.decoded_s(c) / total)
              for c in plan.chunks]
    tasks.append((TaskKind.STITCH, {}, STITCH_SHARE))
    return Split(job_plan, tasks)
