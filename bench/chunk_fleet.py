"""The fleet with and without chunking (issue 10's simulator target), side by side.

    python -m bench.chunk_fleet [--seeds 10] [--chunk-overhead-s S] [--stitch-s S] ...
    (the chunking options are videoforge simulate's)

Fleet 1..60, the work and messages policies at ScalingConfig's defaults, the heavy-tail
trace over several seeds (each has ~5 sources over 30 minutes; 10 seeds give ~50). The
chunking overheads default to processor/simulation/chunking.py's placeholders; pass
``make bench-chunked``'s measured figures to replace them.

Target: the p95 turnaround (arrival -> READY) of the sources over 30 minutes at least 4x
shorter with chunking, for at most 3% more instance-hours. Exit status 1 when the work
policy misses it. Pure simulation: seconds of CPU, no media.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chunk_fleet")
    parser.add_argument("--seeds", type=int, default=10)
    add_chunking_arguments(parser)
    args = parser.parse_args(argv)
    chunking = chunking_from(args)
    runs = [traces.load("heavy-tail", seed=seed) for seed in range(1, args.seeds + 1)]

    print(f"heavy-tail seeds 1..{args.seeds}, fleet 1..{CONFIG.max_size}, boot "
          f"{SIM.boot_s:.0f} s; chunks of {chunking.chunk_s:.0f} s above "
          f"{chunking.threshold_s:.0f} s, +{chunking.chunk_overhead_s:g} s each, stitch "
          f"{chunking.stitch_s:g} s + {chunking.stitch_per_source_minute_s:g} s/min, audio "
          f"{chunking.audio_per_source_minute_s:g} s/min\n")
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
    warm = compare(runs, replace(CONFIG, policy="work", warmup_s=WARM_POOL_BOOT_S),
                   replace(SIM, boot_s=WARM_POOL_BOOT_S), chunking)
    _line(f"600 s, warm pool ({WARM_POOL_BOOT_S:.0f} s to service)", warm)
    missed = [name for name, ok in (("turnaround", work.speedup >= TARGET_SPEEDUP),
                                    ("instance-hours", work.hours_ratio <= MAX_HOURS_RATIO))
              if not ok]
    print(f"\ntarget (work policy, defaults) {'met' if work.met else 'NOT met'}"
          + (f" on {' and '.join(missed)}: see the floor and docs/SCALE.md" if missed else ""))
    return 0 if work.met else 1


def _line(label: str, c: Comparison) -> None:
    print(f"  {label:<32} long p95 {c.whole.long_p95_s:5.0f} -> {c.chunked.long_p95_s:5.0f} s "
          f"({c.speedup:.2f}x)  instance-hours x{c.hours_ratio:.4f}"
          f"{'  meets both' if c.met else ''}")


if __name__ == "__main__":
    sys.exit(main())
