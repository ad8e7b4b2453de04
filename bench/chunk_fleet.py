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

from processor.autoscaler.policy import POLICIES, ScalingConfig
from processor.simulation import traces
from processor.simulation.chunk_compare import (
    MAX_HOURS_RATIO,
    TARGET_SPEEDUP,
    Comparison,
    compare,
    floor_hours,
    table,
)
from processor.simulation.engine import SimSettings
from videoforge.commands.simulate import add_chunking_arguments, chunking_from

CONFIG = ScalingConfig(min_size=1, max_size=60)
SIM = SimSettings()
# EC2 Auto Scaling warm pools keep stopped, pre-initialised instances: in service in
# tens of seconds instead of a full boot (their EBS volumes billed meanwhile, not counted).
WARM_POOL_BOOT_S = 30.0
# The work policy's latency target, swept: the trade between turnaround and boots.
FRONTIER_S = (300.0, 400.0, 600.0, 800.0, 1000.0)
WARM_FRONTIER_S = (400.0, 450.0, 500.0, 550.0, 600.0)
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
    print(f"  work's extra: {work.chunked.instance_hours - work.whole.instance_hours:.2f} h "
          f"= busy +{work.chunked.busy_hours - work.whole.busy_hours:.2f} (overheads), "
          f"boot +{work.chunked.boot_hours - work.whole.boot_hours:.2f}, "
          f"idle +{work.chunked.idle_hours - work.whole.idle_hours:.2f}")

    print("\nwork, latency target swept (the same target with and without chunking):")
    for target in FRONTIER_S:
        swept = compare(runs, replace(CONFIG, policy="work", target_latency_s=target), SIM,
                        chunking)
        _line(f"{target:.0f} s", swept)
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
    missed = [name for name, ok in (("turnaround", work.speedup >= TARGET_SPEEDUP),
                                    ("instance-hours", work.hours_ratio <= MAX_HOURS_RATIO))
              if not ok]
    print(f"\ntarget (work policy, defaults) {'met' if work.met else 'NOT met'}"
          + (f" on {' and '.join(missed)}: see the floor and docs/SCALE.md" if missed else ""))
    if not work.met:
        print("nearest honest version: " + (
            f"work with a warm pool at a {nearest[0]:.0f} s latency target: "
            f"{nearest[1].speedup:.2f}x, instance-hours x{nearest[1].hours_ratio:.4f}"
            if nearest else "none of the warm-pool rows meets both"))
    return 0 if work.met else 1


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
