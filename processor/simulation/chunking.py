"""Chunked jobs in the simulator: a long source becomes many tasks (issue 10).

A source longer than ``threshold_s`` is cut into chunks of about ``chunk_s`` (source
seconds). As the fleet runs it (and ``make bench-chunked`` measures it): the split task
(intake, the plan, the parts by stream copy) first; the audio task, which needs only the
plan, beside it; each chunk task (the whole ladder for its range, video only) once the
split is done; the stitch task (joins by stream copy, then packaging, poster, GIF,
storyboard) once every chunk and the audio are done. Figures, in instance-seconds:

- ``split_per_source_minute_s``: the split, all of it extra;
- ``audio_per_source_minute_s``: the audio, work the unchunked job does in its one run
  too, so moved out of the chunks, not added;
- ``stitch_s`` + ``stitch_per_source_minute_s``: the stitch; of it,
  ``finish_per_source_minute_s`` (packaging and previews) is moved, the join is extra;
- ``chunk_overhead_s``: what each chunk adds (its FFmpeg start, the preroll it decodes
  twice, x264 starting again), the rest of what chunking costs.

So a job of W instance-seconds becomes chunks of (W - audio - finish) / n + overhead each,
and costs W + n x overhead + split + (stitch - finish) in all. The defaults are the
budget bench-chunked's CPU target allows (at most 1.05x the whole run on its 3-minute
source in 6 chunks: 6 x 1.0 + 3 x 0.3 + 5 + 3 x 0.5 = 13.4 s of 270 s, 5 %), with nothing
moved; ``bench_figures`` turns a bench-chunked result into measured ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from processor.simulation.workload import INSTANCE_S_PER_SOURCE_MINUTE, source_seconds

# A trace's long sources, whose turnaround the comparison reports (issue 10: "sources over
# 30 minutes").
LONG_SOURCE_S = 30 * 60.0


@dataclass(frozen=True)
class Tasks:
    """The units one chunked job becomes: the split, then the chunks (the audio runs
    beside both), then the stitch."""

    split: float
    chunks: tuple[float, ...]
    audio: float
    stitch: float

    @property
    def work_s(self) -> float:
        return self.split + sum(self.chunks) + self.audio + self.stitch


@dataclass(frozen=True)
class Chunking:
    threshold_s: float = 240.0   # issue 10: "default around 4 minutes"
    chunk_s: float = 60.0        # issue 10: "default around 60 s"
    chunk_overhead_s: float = 1.0
    split_per_source_minute_s: float = 0.3
    audio_per_source_minute_s: float = 0.0
    stitch_s: float = 5.0
    stitch_per_source_minute_s: float = 0.5
    finish_per_source_minute_s: float = 0.0
    instance_s_per_source_minute: float = INSTANCE_S_PER_SOURCE_MINUTE

    def __post_init__(self) -> None:
        if self.chunk_s <= 0 or self.instance_s_per_source_minute <= 0:
            raise ValueError("chunk_s and instance_s_per_source_minute must be positive")
        if min(getattr(self, f.name) for f in fields(self)) < 0:
            raise ValueError("the chunking threshold and overheads must be >= 0")
        if self.finish_per_source_minute_s > self.stitch_per_source_minute_s:
            raise ValueError("the stitch's finish is part of the stitch: need "
                             "finish_per_source_minute_s <= stitch_per_source_minute_s")
        moved = self.audio_per_source_minute_s + self.finish_per_source_minute_s
        if moved >= self.instance_s_per_source_minute:
            raise ValueError("the audio and the finish are part of a job's own work: they "
                             "must be less than instance_s_per_source_minute")

    def source_s(self, work_s: float) -> float:
        return source_seconds(work_s, self.instance_s_per_source_minute)

    def split(self, work_s: float) -> Tasks | None:
        """The tasks of a job of ``work_s`` instance-seconds; None: it runs whole."""
        source = self.source_s(work_s)
        if source <= self.threshold_s:
            return None
        count = math.ceil(source / self.chunk_s)
        minutes = source / 60.0
        audio = self.audio_per_source_minute_s * minutes
        own = work_s - audio - self.finish_per_source_minute_s * minutes
        return Tasks(split=self.split_per_source_minute_s * minutes,
                     chunks=(own / count + self.chunk_overhead_s,) * count, audio=audio,
                     stitch=self.stitch_s + self.stitch_per_source_minute_s * minutes)
