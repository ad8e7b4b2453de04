"""The fleet with and without chunking (issue 10's simulator target), side by side.

    python -m bench.chunk_fleet [--seeds 10] [--bench-figures FILE] [--chunk-overhead-s S] ...
    (the chunking options are videoforge simulate's)

Fleet 1..60, the work and messages policies at ScalingConfig's defaults, the heavy-tail
trace over several seeds (each has ~5 sources over 30 minutes; 10 seeds give ~50). The
chunking overheads are ``make bench-chunked``'s measured figures (bench/results/
chunked.json, converted by processor/simulation/bench_figures.py) when that file exists,
else processor/simulation/chunking.py's defaults (the bench's CPU budget); it says which.

Target: the p95 turnaround (arrival -> READY) of the sources over 30 minutes at least 4x
shorter with chunking, for at most 3% more instance-hours. Exit status 1 when the work
policy misses it. Pure simulation: seconds of CPU, no media.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from common.costs import ON_DEMAND_USD_PER_HOUR
from processor.autoscaler.policy import POLICIES, ScalingConfig
from processor.simulation import traces
from processor.simulation.chunk_compare import (
    MAX_HOURS_RATIO,
    TARGET_SPEEDUP,
    Comparison,
    compare,
    floor_hours,
    pool,
    table,
)
from processor.simulation.chunking import Chunking
from processor.simulation.engine import RunResult, SimSettings, simulate
from processor.simulation.report import percentile
from videoforge.commands.simulate import add_chunking_arguments, chunking_from

CONFIG = ScalingConfig(min_size=1, max_size=60)
SIM = SimSettings()
# EC2 Auto Scaling warm pools keep stopped, pre-initialised instances: in service in
# tens of seconds instead of a full boot (their EBS volumes billed meanwhile, not counted).
WARM_POOL_BOOT_S = 30.0
# The work policy's latency target, swept: the trade between turnaround and boots.
FRONTIER_S = (300.0, 400.0, 500.0, 550.0, 600.0, 800.0, 900.0, 1000.0)
WARM_FRONTIER_S = (400.0, 450.0, 500.0, 550.0, 600.0)
# A warm pool's stopped instances pay for their EBS volumes: the worker image's root
# volume (packer/images.pkr.hcl) at gp3's price (us-east-1).
WORKER_VOLUME_GB = 30
EBS_USD_PER_GB_MONTH = 0.08
HOURS_PER_MONTH = 730.0
# The hold what-if (processor/simulation/queue.py): started chunks go first until a new
# upload has waited this long. Under 600 s (the latency target) less a chunk's ~90 s run,
# a new upload still starts within the target.
HOLD_S = (300.0, 450.0, 500.0)
# The floor against bench-chunked's CPU target (1.05x) and either side of it.
FLOOR_RATIOS = (1.02, 1.05, 1.10)
BENCH_SOURCE_S = 180.0
FIGURES = Path(__file__).resolve().parent / "results" / "chunked.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chunk_fleet")
    parser.add_argument("--seeds", type=int, default=10)
    add_chunking_arguments(parser, figures=FIGURES if FIGURES.exists() else None)
    args = parser.parse_args(argv)
    try:
        chunking = chunking_from(args)
    except ValueError as exc:
        parser.error(str(exc))
    runs = [traces.load("heavy-tail", seed=seed) for seed in range(1, args.seeds + 1)]
    print(f"chunking overheads: {_origin(args.bench_figures)}")

    print(f"heavy-tail seeds 1..{args.seeds}, fleet 1..{CONFIG.max_size}, boot "
          f"{SIM.boot_s:.0f} s; chunks of {chunking.chunk_s:.0f} s above "
          f"{chunking.threshold_s:.0f} s, +{chunking.chunk_overhead_s:.2f} s each; split "
          f"{chunking.split_per_source_minute_s:.2f} s/min; audio "
          f"{chunking.audio_per_source_minute_s:.2f} s/min (moved); stitch "
          f"{chunking.stitch_s:g} s + {chunking.stitch_per_source_minute_s:.2f} s/min, of "
          f"which {chunking.finish_per_source_minute_s:.2f} s/min moved (instance-seconds, "
          f"{chunking.instance_s_per_source_minute:g} per source minute whole)\n")
    comparisons = [compare(runs, replace(CONFIG, policy=policy), SIM, chunking)
                   for policy in POLICIES]
    print(table(comparisons))

    work = next(c for c in comparisons if c.policy == "work")
    floor = floor_hours(runs, chunking, boot_s=SIM.boot_s)
    print(f"\nfloor: 4x for every long source needs >= {floor:.2f} extra instance-hours "
          f"(its launches' boots + its chunking overheads; no idle, no queueing, shorter "
          f"sources not chunked) = {floor / work.whole.instance_hours:.1%} of work's "
          f"{work.whole.instance_hours:.1f}")
    print("  the floor if bench-chunked's CPU ratio (b)/(a) were: " + ", ".join(
        f"{r:.2f}x -> {floor_hours(runs, at_ratio(chunking, r), boot_s=SIM.boot_s) / work.whole.instance_hours:.1%}"  # noqa: E501
        for r in FLOOR_RATIOS) + f" (these overheads: {bench_ratio(chunking):.3f}x)")
    print(f"  work's extra: {work.chunked.instance_hours - work.whole.instance_hours:.2f} h "
          f"= busy +{work.chunked.busy_hours - work.whole.busy_hours:.2f} (overheads), "
          f"boot +{work.chunked.boot_hours - work.whole.boot_hours:.2f}, "
          f"idle +{work.chunked.idle_hours - work.whole.idle_hours:.2f}")

    print("\nwork, latency target swept (the same target with and without chunking):")
    frontier = []
    for target in FRONTIER_S:
        swept = compare(runs, replace(CONFIG, policy="work", target_latency_s=target), SIM,
                        chunking)
        _line(f"{target:.0f} s", swept)
        frontier.append((target, swept))
    print(f"\nwork with an Auto Scaling warm pool ({WARM_POOL_BOOT_S:.0f} s to service, the "
          "policy's warm-up to match), latency target swept:")
    nearest = None
    for target in WARM_FRONTIER_S:
        warm = compare(runs, replace(CONFIG, policy="work", warmup_s=WARM_POOL_BOOT_S,
                                     target_latency_s=target),
                       replace(SIM, boot_s=WARM_POOL_BOOT_S), chunking)
        _line(f"{target:.0f} s, warm pool", warm)
        if warm.met and nearest is None:
            nearest = (target, warm)
    whole = _simulated(runs, replace(CONFIG, policy="work"), SIM)  # the hold changes nothing
    _without_shares(runs, chunking, whole)
    _held(runs, chunking, whole)
    missed = [name for name, ok in (("turnaround", work.speedup >= TARGET_SPEEDUP),
                                    ("instance-hours", work.hours_ratio <= MAX_HOURS_RATIO))
              if not ok]
    print(f"\ntarget (work policy, defaults) {'met' if work.met else 'NOT met'}"
          + (f" on {' and '.join(missed)}: see the floor and docs/SCALE.md" if missed else ""))
    if not work.met:
        _nearest(frontier)
    if nearest:
        print(f"with a warm pool at a {nearest[0]:.0f} s latency target both are met: "
              f"{nearest[1].speedup:.2f}x, instance-hours x{nearest[1].hours_ratio:.4f}")
        _warm_pool_cost(runs, nearest[0], chunking, nearest[1])
    return 0 if work.met else 1


def _nearest(frontier: list[tuple[float, Comparison]]) -> None:
    """The two honest relaxations on the plain fleet: what 4x costs, what 3% buys."""
    fast = [(t, c) for t, c in frontier if c.speedup >= TARGET_SPEEDUP]
    cheap = [(t, c) for t, c in frontier if c.hours_ratio <= MAX_HOURS_RATIO]
    if fast:
        t, c = min(fast, key=lambda tc: tc[1].hours_ratio)
        print(f"nearest: {c.speedup:.2f}x costs instance-hours x{c.hours_ratio:.4f} "
              f"({t:.0f} s target)")
    if cheap:
        t, c = max(cheap, key=lambda tc: tc[1].speedup)
        print(f"nearest: within x{MAX_HOURS_RATIO:.2f} instance-hours, {c.speedup:.2f}x "
              f"({t:.0f} s target)")


def _without_shares(runs: list[traces.Trace], chunking: Chunking,
                    whole: list[RunResult]) -> None:
    """The what-if behind the miss: the scheduler's fair share (every upload its own user)
    serves each new arrival before a started chunked job's next chunk. Without the shares
    (the oldest job first) the target is met, and this is what it costs the short uploads.
    ``whole``: the unchunked runs, the same either way (every job is one unit)."""
    config = replace(CONFIG, policy="work")
    shared = _simulated(runs, config, replace(SIM, chunking=chunking))
    plain = _simulated(runs, config, replace(SIM, chunking=chunking, fair_share=False))
    print("\nwhat-if, the scheduler without per-upload shares (the oldest job first, as it "
          "orders one user's own jobs):")
    _line("work, oldest job first",
          Comparison(config.policy, pool(whole, chunking), pool(plain, chunking)))
    print(f"  but the short uploads (up to {chunking.threshold_s:.0f} s of source) pay for it: "
          f"their p95 turnaround {_short_p95(whole, chunking):.0f} s whole, "
          f"{_short_p95(shared, chunking):.0f} s chunked with the shares, "
          f"{_short_p95(plain, chunking):.0f} s chunked without")


def _held(runs: list[traces.Trace], chunking: Chunking, whole: list[RunResult]) -> None:
    """The what-if between the two orders: a started chunked job's tasks go first until a
    new upload has waited the hold: the scheduler's VF_CHUNK_HOLD_S, off by default, as it
    sets DESIGN.md's rule 2 aside."""
    config = replace(CONFIG, policy="work")
    print("\nwhat-if, a started chunked job's tasks first until a new upload has waited the "
          "hold (VF_CHUNK_HOLD_S; off by default, not DESIGN.md's rule 2):")
    for hold in HOLD_S:
        held = _simulated(runs, config, replace(SIM, chunking=chunking, chunk_hold_s=hold))
        _line(f"work, hold {hold:.0f} s",
              Comparison(config.policy, pool(whole, chunking), pool(held, chunking)))
        waits = [w for r in held for w in r.waits]
        print(f"    short uploads' p95 turnaround {_short_p95(whole, chunking):.0f} s whole -> "
              f"{_short_p95(held, chunking):.0f} s; all jobs' p95 wait "
              f"{percentile(waits, 95):.0f} s (the latency target: "
              f"{config.target_latency_s:.0f} s)")


def _simulated(runs: list[traces.Trace], config: ScalingConfig,
               sim: SimSettings) -> list[RunResult]:
    return [simulate(trace, config, sim) for trace in runs]


def _short_p95(results: list[RunResult], chunking: Chunking) -> float:
    return percentile([t for r in results
                       for t, work in zip(r.turnarounds, r.job_work_s, strict=True)
                       if t is not None and chunking.source_s(work) <= chunking.threshold_s], 95)


def _warm_pool_cost(runs: list[traces.Trace], target: float, chunking: Chunking,
                    c: Comparison) -> None:
    """What the instance-hours leave out: the warm pool's stopped instances pay for their
    volumes. A pool must hold what the fleet launches at once."""
    config = replace(CONFIG, policy="work", warmup_s=WARM_POOL_BOOT_S, target_latency_s=target)
    sim = replace(SIM, boot_s=WARM_POOL_BOOT_S, chunking=chunking)
    results = [simulate(t, config, sim) for t in runs]
    pool = max(max(s.pending for s in r.timeline) for r in results)
    hours = sum(r.end_s for r in results) / 3600
    equivalent = pool * hours * WORKER_VOLUME_GB * EBS_USD_PER_GB_MONTH / HOURS_PER_MONTH \
        / ON_DEMAND_USD_PER_HOUR
    print(f"  but its warm pool ({pool} stopped instances, the most launched at once, "
          f"{WORKER_VOLUME_GB} GB gp3 each) costs as much as {equivalent:.0f} on-demand "
          f"instance-hours over these runs: +{equivalent / c.whole.instance_hours:.0%} of the "
          "whole runs' compute, outside the instance-hours target")


def bench_ratio(chunking: Chunking) -> float:
    """What ``chunking`` makes of bench-chunked's own source: 3 minutes in 6 chunks."""
    bench = replace(chunking, threshold_s=BENCH_SOURCE_S / 6, chunk_s=BENCH_SOURCE_S / 6)
    work = chunking.instance_s_per_source_minute * BENCH_SOURCE_S / 60
    tasks = bench.split(work)
    assert tasks is not None
    return tasks.work_s / work


def at_ratio(chunking: Chunking, ratio: float) -> Chunking:
    """``chunking`` with every added overhead scaled so that bench-chunked's source would
    cost ``ratio`` times its whole run (what is moved stays)."""
    f = (ratio - 1) / (bench_ratio(chunking) - 1)
    join = chunking.stitch_per_source_minute_s - chunking.finish_per_source_minute_s
    return replace(chunking, chunk_overhead_s=chunking.chunk_overhead_s * f,
                   split_per_source_minute_s=chunking.split_per_source_minute_s * f,
                   stitch_s=chunking.stitch_s * f,
                   stitch_per_source_minute_s=chunking.finish_per_source_minute_s + join * f)


def _origin(figures: Path | None) -> str:
    if figures is None:
        return ("processor/simulation/chunking.py's defaults (the budget of bench-chunked's "
                "CPU target; no bench/results/chunked.json yet)")
    data = json.loads(figures.read_text())
    return (f"measured by bench-chunked ({figures.name}, {data.get('when_utc', '?')}, load "
            f"average {data.get('load_start', float('nan')):.2f}; CPU (b)/(a) "
            f"{data.get('cpu_ratio', float('nan')):.3f}x)")


def _line(label: str, c: Comparison) -> None:
    print(f"  {label:<32} long p95 {c.whole.long_p95_s:5.0f} -> {c.chunked.long_p95_s:5.0f} s "
          f"({c.speedup:.2f}x)  instance-hours x{c.hours_ratio:.4f}"
          f"{'  meets both' if c.met else ''}")


if __name__ == "__main__":
    sys.exit(main())
