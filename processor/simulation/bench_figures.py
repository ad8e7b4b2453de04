"""The simulator's chunking overheads from ``make bench-chunked``'s measured figures.

The bench (bench/chunked.py) writes, for its source of ``source_s`` seconds in ``chunks``
chunks, the CPU seconds of the whole run (a) and of the chunked one (b), every worker
process with its FFmpeg children, and of the chunked run's steps: the split, the audio,
the chunks, the stitch's join and its finish (packaging, poster, GIF, storyboard). Its
CPU-seconds become the simulator's instance-seconds in proportion to the whole job:
``k = instance_s_per_source_minute x minutes / whole_cpu_s``, so every overhead keeps the
share of a job's work the bench measured. Then (see ``chunking.py`` for the model):

- split per source minute: the split's CPU;
- audio per source minute: the audio's CPU (moved out of the chunks, not added);
- stitch per source minute: join + finish; finish per source minute: the finish (moved);
- per chunk: whatever else (b) spent over (a), shared by the chunks: (b - a - split -
  join) / chunks, at least 0 (the audio and finish runs costing less apart than inside
  the whole run would make it negative).

Everything is scaled per source minute, none of it fixed: the bench measures one length,
and the fixed parts of a split or a stitch (process starts, intake) are then charged to
longer sources in proportion, which overstates what chunking costs them. Not in the
bench, so not here: S3 transfers of parts and chunk files, and the queue's round trips.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from processor.simulation.chunking import Chunking

_NEEDED = ("source_s", "chunks", "whole_cpu_s", "chunked_cpu_s", "split_cpu_s", "audio_cpu_s",
           "join_cpu_s", "finish_cpu_s")


class FiguresError(ValueError):
    """A bench-chunked result that cannot be read or is not one."""


def read(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FiguresError(f"cannot read bench figures {path}: {exc}") from None
    if not isinstance(data, dict):
        raise FiguresError(f"{path}: not a bench-chunked result")
    missing = [k for k in _NEEDED if not isinstance(data.get(k), int | float)]
    if missing:
        raise FiguresError(f"{path}: not a bench-chunked result (no {', '.join(missing)})")
    return {k: float(data[k]) for k in _NEEDED}


def measured(figures: Mapping[str, float], base: Chunking | None = None) -> Chunking:
    """``base`` (default: the defaults) with the overheads of ``figures`` (``read``)."""
    base = base or Chunking()
    if figures["whole_cpu_s"] <= 0 or figures["source_s"] <= 0 or figures["chunks"] < 1:
        raise FiguresError("bench figures need whole_cpu_s, source_s > 0 and chunks >= 1")
    minutes = figures["source_s"] / 60.0
    k = base.instance_s_per_source_minute * minutes / figures["whole_cpu_s"]

    def per_minute(cpu_s: float) -> float:
        return cpu_s * k / minutes

    rest = (figures["chunked_cpu_s"] - figures["whole_cpu_s"] - figures["split_cpu_s"]
            - figures["join_cpu_s"])
    return replace(
        base,
        chunk_overhead_s=max(0.0, rest) / figures["chunks"] * k,
        split_per_source_minute_s=per_minute(figures["split_cpu_s"]),
        audio_per_source_minute_s=per_minute(figures["audio_cpu_s"]),
        stitch_s=0.0,
        stitch_per_source_minute_s=per_minute(figures["join_cpu_s"] + figures["finish_cpu_s"]),
        finish_per_source_minute_s=per_minute(figures["finish_cpu_s"]),
    )
