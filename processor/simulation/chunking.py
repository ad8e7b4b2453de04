"""Chunked jobs in the simulator: a long source becomes many tasks (issue 10).

A source longer than ``threshold_s`` is cut into chunks of about ``chunk_s`` (source
seconds). Each chunk task encodes the whole ladder for its range; one audio task encodes
the whole soundtrack; once all of them are done, a stitch task joins, packages and
publishes. What chunking costs is modelled as work added to the unchunked job's:

- every chunk: ``chunk_overhead_s`` (its own process start, reading its share of the
  source, the keyframe it starts on, its upload);
- the audio task: ``audio_per_source_minute_s`` per source minute;
- the stitch: ``stitch_s`` plus ``stitch_per_source_minute_s`` per source minute (stream
  copy of every quality, packaging, poster and GIF, the upload).

The chunks share the unchunked job's own work evenly. The defaults are placeholders at
the budget ``make bench-chunked`` targets (chunked CPU at most 1.05x whole on its
3-minute source in 6 chunks: 6 x 1.0 + 5 + 3 x 0.5 + 3 x 0.3 = 13.4 s of ~270 s, 5%);
the bench's measured figures replace them (``videoforge simulate --chunk-overhead-s`` ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from processor.simulation.workload import INSTANCE_S_PER_SOURCE_MINUTE, source_seconds

# A trace's long sources, whose turnaround the comparison reports (issue 10: "sources over
# 30 minutes").
LONG_SOURCE_S = 30 * 60.0


@dataclass(frozen=True)
class Tasks:
    """The units one chunked job becomes: chunks + audio first, then the stitch."""

    parallel: tuple[float, ...]  # work of each chunk task and of the audio task
    stitch: float


@dataclass(frozen=True)
class Chunking:
    threshold_s: float = 240.0   # issue 10: "default around 4 minutes"
    chunk_s: float = 60.0        # issue 10: "default around 60 s"
    chunk_overhead_s: float = 1.0
    audio_per_source_minute_s: float = 0.3
    stitch_s: float = 5.0
    stitch_per_source_minute_s: float = 0.5
    instance_s_per_source_minute: float = INSTANCE_S_PER_SOURCE_MINUTE

    def __post_init__(self) -> None:
        if self.chunk_s <= 0 or self.instance_s_per_source_minute <= 0:
            raise ValueError("chunk_s and instance_s_per_source_minute must be positive")
        if min(self.threshold_s, self.chunk_overhead_s, self.audio_per_source_minute_s,
               self.stitch_s, self.stitch_per_source_minute_s) < 0:
            raise ValueError("the chunking threshold and overheads must be >= 0")

    def source_s(self, work_s: float) -> float:
        return source_seconds(work_s, self.instance_s_per_source_minute)

    def split(self, work_s: float) -> Tasks | None:
        """The tasks of a job of ``work_s`` instance-seconds; None: it runs whole."""
        source = self.source_s(work_s)
        if source <= self.threshold_s:
            return None
        chunks = math.ceil(source / self.chunk_s)
        minutes = source / 60.0
        chunk = work_s / chunks + self.chunk_overhead_s
        audio = self.audio_per_source_minute_s * minutes
        return Tasks(parallel=(chunk,) * chunks + (audio,),
                     stitch=self.stitch_s + self.stitch_per_source_minute_s * minutes)
