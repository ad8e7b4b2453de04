"""With and without chunking, side by side: the long sources' turnaround and what the
fleet paid for it (issue 10's simulator target).

Runs are pooled over traces (several heavy-tail seeds give enough long sources): the p95
is over every long source of every run, the instance-hours their sum. The floor is what
no policy can undercut: to make a long source of W instance-seconds ``speedup`` times
faster, its chunks and audio (work P) must be done by D = W / speedup - stitch on m
instances: one already running, from the split's end s; the others launched at its
arrival, from max(boot, s); so P <= (D - s) + (m - 1)(D - max(boot, s)). Each launched
one pays at least its boot, and the job its chunking overheads. Counted
for every long source (a p95 spares 5% of them), with no queueing behind other work, so
it is generous to chunking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from processor.autoscaler.policy import ScalingConfig
from processor.simulation.chunking import LONG_SOURCE_S, Chunking
from processor.simulation.engine import RunResult, SimSettings, simulate
from processor.simulation.report import percentile
from processor.simulation.traces import Trace

TARGET_SPEEDUP = 4.0     # issue 10: p95 turnaround at least 4x shorter...
MAX_HOURS_RATIO = 1.03   # ... for at most 3% more instance-hours


@dataclass(frozen=True)
class Pooled:
    long_turnarounds: tuple[float, ...]
    instance_hours: float
    busy_hours: float
    boot_hours: float
    idle_hours: float

    @property
    def long_p95_s(self) -> float:
        return percentile(self.long_turnarounds, 95)


def pool(results: Sequence[RunResult], chunking: Chunking) -> Pooled:
    turnarounds = [t for r in results
                   for t, work in zip(r.turnarounds, r.job_work_s, strict=True)
                   if t is not None and chunking.source_s(work) > LONG_SOURCE_S]
    return Pooled(tuple(turnarounds), sum(r.instance_hours for r in results),
                  sum(r.work_s for r in results) / 3600, sum(r.boot_hours for r in results),
                  sum(r.idle_hours for r in results))


@dataclass(frozen=True)
class Comparison:
    policy: str
    whole: Pooled
    chunked: Pooled

    @property
    def speedup(self) -> float:
        return self.whole.long_p95_s / self.chunked.long_p95_s if self.chunked.long_p95_s \
            else math.inf

    @property
    def hours_ratio(self) -> float:
        return self.chunked.instance_hours / self.whole.instance_hours

    @property
    def met(self) -> bool:
        return self.speedup >= TARGET_SPEEDUP and self.hours_ratio <= MAX_HOURS_RATIO


def compare(runs: Sequence[Trace], config: ScalingConfig, sim: SimSettings,
            chunking: Chunking) -> Comparison:
    whole = [simulate(t, config, replace(sim, chunking=None)) for t in runs]
    chunked = [simulate(t, config, replace(sim, chunking=chunking)) for t in runs]
    return Comparison(config.policy, pool(whole, chunking), pool(chunked, chunking))


def floor_hours(runs: Sequence[Trace], chunking: Chunking, *, boot_s: float,
                speedup: float = TARGET_SPEEDUP) -> float:
    """The least extra instance-hours any policy pays to make every long source
    ``speedup`` times faster (see the module docstring)."""
    extra = 0.0
    for trace in runs:
        for job in trace.jobs:
            tasks = chunking.split(job.work_s)
            if tasks is None or chunking.source_s(job.work_s) <= LONG_SOURCE_S:
                continue
            parallel = sum(tasks.chunks) + tasks.audio
            by = job.work_s / speedup - tasks.stitch  # the chunks' and audio's deadline
            first, other = by - tasks.split, by - max(boot_s, tasks.split)
            units = len(tasks.chunks) + 1
            instances = 1 + math.ceil(max(0.0, parallel - first) / other) if other > 0 \
                else units
            extra += (min(instances, units) - 1) * boot_s
            extra += tasks.work_s - job.work_s
    return extra / 3600


def table(comparisons: Sequence[Comparison]) -> str:
    header = (f"{'policy':<9} {'chunking':<8} {'long':>5} {'long p95 turnaround':>19} "
              f"{'inst-h':>8} {'busy h':>8} {'boot h':>7} {'idle h':>7}")
    rows = [header, "-" * len(header)]
    for c in comparisons:
        for name, p in (("whole", c.whole), ("chunked", c.chunked)):
            rows.append(f"{c.policy:<9} {name:<8} {len(p.long_turnarounds):>5} "
                        f"{p.long_p95_s:>17.0f} s {p.instance_hours:>8.2f} "
                        f"{p.busy_hours:>8.2f} {p.boot_hours:>7.2f} {p.idle_hours:>7.2f}")
    for c in comparisons:
        rows.append(
            f"{c.policy}: long p95 turnaround {c.speedup:.2f}x shorter (need >= "
            f"{TARGET_SPEEDUP:.0f}x), instance-hours x{c.hours_ratio:.4f} (need <= "
            f"x{MAX_HOURS_RATIO:.2f}): {'met' if c.met else 'NOT met'}")
    return "\n".join(rows)
