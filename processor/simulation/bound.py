"""A clairvoyant lower bound: the least instance-hours any policy could pay for a p95 wait.

The clairvoyant fleet launches ``k`` instances at the first controller tick at or after
the second a trace's busiest minute begins (it knows what is coming, but decides on the
controller's clock like any policy), and none of them is ever idle, so it pays the work
itself plus ``k`` boots. No real policy does better than that for
the same ``k``; if even the smallest ``k`` whose FIFO p95 wait meets a target costs more
than another policy's run, no policy can meet that target at no more instance-hours.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from processor.simulation.report import percentile
from processor.simulation.traces import Trace


@dataclass(frozen=True)
class Bound:
    launched: int          # instances the clairvoyant fleet launches; -1: none meets it
    p95_wait_s: float      # its p95 queue wait
    min_instance_hours: float  # work + boots: what it pays at the least


def fifo_waits(trace: Trace, free_at: list[float]) -> list[float]:
    """Queue waits of the trace on workers that become free at ``free_at``."""
    heap = sorted(free_at)
    waits = []
    for job in trace.jobs:
        start = max(heapq.heappop(heap), job.arrival_s)
        waits.append(start - job.arrival_s)
        heapq.heappush(heap, start + job.work_s)
    return waits


def busiest_minute(trace: Trace) -> float:
    """Start of the minute with the most arrivals."""
    times = [job.arrival_s for job in trace.jobs]
    best, start, j = 0, 0.0, 0
    for i, t in enumerate(times):
        while times[j] < t - 60.0:
            j += 1
        if i - j + 1 > best:
            best, start = i - j + 1, times[j]
    return start


def clairvoyant(trace: Trace, *, p95_wait_s: float, max_size: int, warm: int,
                boot_s: float, interval_s: float) -> Bound:
    """The fewest launches (fleet up to ``max_size``, ``warm`` instances already up)
    whose p95 wait is at most ``p95_wait_s``."""
    at = math.ceil(busiest_minute(trace) / interval_s) * interval_s + boot_s
    work_h = sum(job.work_s for job in trace.jobs) / 3600
    last = Bound(-1, float("inf"), float("inf"))
    for k in range(0, max_size - warm + 1):
        p95 = percentile(fifo_waits(trace, [0.0] * warm + [at] * k), 95)
        if p95 <= p95_wait_s:
            return Bound(k, p95, work_h + k * boot_s / 3600)
        last = Bound(-1, p95, work_h + k * boot_s / 3600)
    return last
