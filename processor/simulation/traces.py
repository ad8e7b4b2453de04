"""Job traces for the simulator: seeded built-in shapes, or a CSV file.

A job is an arrival time and its work in instance-seconds (encode time on one worker at
its measured speed). Built-in traces draw source lengths in minutes and turn them into
work with the cost model's instance-seconds per source minute, so one constant links
the traces, the costs and the capacity figures of docs/SCALE.md.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from processor.simulation.workload import INSTANCE_S_PER_SOURCE_MINUTE

MINUTE = 60.0
HOUR = 3600.0
# The heavy-tail trace's range (issue 6: "durations from 30 s to 2 h"). 30 s is about the
# fixed per-job work (download, probe, packaging, upload) of a clip of a few seconds; 2 h
# of work is an ~80-minute source, well inside the 4 h source limit (processor/limits.py).
MIN_WORK_S = 30.0
MAX_WORK_S = 2 * HOUR


class TraceError(ValueError):
    """A trace that cannot be read or does not exist."""


@dataclass(frozen=True)
class Job:
    arrival_s: float
    work_s: float


@dataclass(frozen=True)
class Trace:
    name: str
    jobs: tuple[Job, ...]
    duration_s: float  # the period the trace covers; the run lasts at least this long

    @property
    def source_minutes(self) -> float:
        return sum(job.work_s for job in self.jobs) / INSTANCE_S_PER_SOURCE_MINUTE


def _typical_work(rng: random.Random) -> float:
    # User uploads: lognormal source length, median 2 min, mean ~3 min.
    minutes = rng.lognormvariate(math.log(2.0), 0.9)
    return min(max(minutes * INSTANCE_S_PER_SOURCE_MINUTE, MIN_WORK_S), MAX_WORK_S)


def _bounded_pareto_work(rng: random.Random, alpha: float = 1.1) -> float:
    # Inverse CDF of a Pareto bounded to [MIN_WORK_S, MAX_WORK_S]: most jobs under a
    # minute, a few of two hours that dominate the total work.
    low, high = MIN_WORK_S, MAX_WORK_S
    u = rng.random()
    return float(low / (1 - u * (1 - (low / high) ** alpha)) ** (1 / alpha))


def _poisson(rng: random.Random, rate_per_s: Callable[[float], float], peak_per_s: float,
             start: float, end: float) -> list[float]:
    """Arrival times of a (possibly time-varying) Poisson process, by thinning."""
    times: list[float] = []
    t = start
    while True:
        t += rng.expovariate(peak_per_s)
        if t >= end:
            return times
        if rng.random() * peak_per_s <= rate_per_s(t):
            times.append(t)


def steady(rng: random.Random, scale: float = 1.0) -> Trace:
    """Four hours at 2 uploads a minute: ~8 busy instances on average."""
    duration, rate = 4 * HOUR, 2 / MINUTE * scale
    arrivals = _poisson(rng, lambda _t: rate, rate, 0.0, duration)
    return Trace("steady", tuple(Job(t, _typical_work(rng)) for t in arrivals), duration)


def burst(rng: random.Random, scale: float = 1.0) -> Trace:
    """A quiet background (one upload every 2 min) and 200 uploads within one minute at
    the 30-minute mark (a bulk import, a campaign), over three hours."""
    duration, rate, start = 3 * HOUR, 0.5 / MINUTE * scale, 30 * MINUTE
    arrivals = _poisson(rng, lambda _t: rate, rate, 0.0, duration)
    arrivals += [start + rng.uniform(0, MINUTE) for _ in range(round(200 * scale))]
    jobs = tuple(Job(t, _typical_work(rng)) for t in sorted(arrivals))
    return Trace("burst", jobs, duration)


def diurnal(rng: random.Random, scale: float = 1.0) -> Trace:
    """A day: 0.3 uploads a minute at night, 3.5 at the afternoon peak (14:00)."""
    duration, low, high = 24 * HOUR, 0.3 / MINUTE * scale, 3.5 / MINUTE * scale

    def rate(t: float) -> float:
        return low + (high - low) * (1 - math.cos(2 * math.pi * (t - 2 * HOUR) / (24 * HOUR))) / 2

    arrivals = _poisson(rng, rate, high, 0.0, duration)
    return Trace("diurnal", tuple(Job(t, _typical_work(rng)) for t in arrivals), duration)


def heavy_tail(rng: random.Random, scale: float = 1.0) -> Trace:
    """Six hours at 3 uploads a minute (Poisson), work from 30 s to 2 h: a bounded Pareto
    with alpha 1.1, the standard heavy-tailed job-size model (Harchol-Balter's bounded
    Pareto; measured file and job sizes give alpha ~1-1.3). Median ~56 s, mean ~150 s;
    half of the work is in the largest ~5% of jobs, ~2 jobs an hour take over 30 min. A
    queue's message count says little about its work here."""
    duration, rate = 6 * HOUR, 3 / MINUTE * scale
    arrivals = _poisson(rng, lambda _t: rate, rate, 0.0, duration)
    jobs = tuple(Job(t, _bounded_pareto_work(rng)) for t in arrivals)
    return Trace("heavy-tail", jobs, duration)


BUILT_IN: dict[str, Callable[[random.Random, float], Trace]] = {
    "steady": steady,
    "burst": burst,
    "diurnal": diurnal,
    "heavy-tail": heavy_tail,
}


def load_csv(path: Path) -> Trace:
    """A CSV with a header and columns ``arrival_s,work_s`` (other columns ignored)."""
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read trace {path}: {exc}") from None
    if not rows or not {"arrival_s", "work_s"} <= set(rows[0]):
        raise TraceError(f"{path}: need a header with columns arrival_s,work_s")
    jobs = []
    for line, row in enumerate(rows, start=2):
        try:
            job = Job(float(row["arrival_s"]), float(row["work_s"]))
        except (TypeError, ValueError):
            raise TraceError(f"{path}:{line}: arrival_s and work_s must be numbers") from None
        if not (math.isfinite(job.arrival_s) and math.isfinite(job.work_s)) or (
            job.arrival_s < 0 or job.work_s <= 0
        ):
            raise TraceError(f"{path}:{line}: need arrival_s >= 0 and work_s > 0")
        jobs.append(job)
    jobs.sort(key=lambda j: j.arrival_s)
    return Trace(path.stem, tuple(jobs), jobs[-1].arrival_s)


def load(name_or_path: str, seed: int = 1, scale: float = 1.0) -> Trace:
    """A built-in trace by name (seeded; ``scale`` multiplies its upload rate), or a
    CSV file by path."""
    if name_or_path in BUILT_IN:
        if scale <= 0:
            raise TraceError("the rate scale must be positive")
        return BUILT_IN[name_or_path](random.Random(f"{name_or_path}:{seed}"), scale)
    path = Path(name_or_path)
    if path.suffix.lower() == ".csv" or path.exists():
        return load_csv(path)
    known = ", ".join(BUILT_IN)
    raise TraceError(f"unknown trace {name_or_path!r}: use one of {known} or a .csv file")
