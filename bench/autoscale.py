"""Autoscaling benchmark: both policies on every built-in trace, side by side.

    python -m bench.autoscale [--seeds 5] [--plot-dir DIR]

Fleet 1..60 for every trace. Why 60: at 20 (the diurnal peak with headroom) the
200-upload burst caps both policies at the same 20 instances on the same tick, so they
cannot differ where it matters; the classic policy asks for 200 / 5 = 40 there, and 60
(120 vCPUs, a runaway capped at 60 x the on-demand price, ~$2.50/h) leaves room above that without
being unbounded. The steady, diurnal and heavy-tail traces never reach 25.

One configuration for every trace; the two policies differ only in the policy name; the
sizing values are ScalingConfig's defaults (the work policy's 600 s latency target).

For the burst the run also prints a clairvoyant lower bound (processor/simulation/bound.py):
the fewest instances launched the second the burst starts whose p95 wait meets the target,
and the least instance-hours that costs (work + boots, never idle). When that exceeds the
messages run's instance-hours, no policy can meet both criteria there.

Target: on the burst and heavy-tail traces, ``work`` has a p95 queue wait at least 40%
lower than ``messages`` at no more instance-hours, with 0 interrupted jobs and at most 2
scale reversals per hour. Exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from processor.autoscaler.policy import POLICIES, ScalingConfig
from processor.simulation import traces
from processor.simulation.bound import clairvoyant
from processor.simulation.engine import SimSettings, simulate_policies
from processor.simulation.plot import plot_runs
from processor.simulation.report import summarize, table

MAX_SIZE = 60
CONFIG = ScalingConfig(min_size=1, max_size=MAX_SIZE)
SIM = SimSettings()  # 120 s boot, 30 s controller tick, SQS counts 60 s old, DB fresh
TARGET_TRACES = ("burst", "heavy-tail")
MAX_P95_RATIO = 0.6
MAX_REVERSALS_PER_HOUR = 2.0


def run_trace(name: str, seed: int, plot_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    results = simulate_policies(traces.load(name, seed=seed), POLICIES, CONFIG, SIM)
    if plot_dir is not None:
        plot_runs(results, plot_dir / f"autoscale-{name}.png")
    return {r.policy: summarize(r) for r in results}


def check(runs: dict[str, dict[str, Any]]) -> list[tuple[str, bool]]:
    """The target's criteria for one trace, each with whether it holds."""
    messages, work = runs["messages"], runs["work"]
    ratio = work["p95_wait_s"] / messages["p95_wait_s"] if messages["p95_wait_s"] else 1.0
    return [
        (f"p95 wait {work['p95_wait_s']:.0f} s vs {messages['p95_wait_s']:.0f} s "
         f"({1 - ratio:.0%} lower, need >= 40%)", ratio <= MAX_P95_RATIO),
        (f"instance-hours {work['instance_hours']:.1f} vs {messages['instance_hours']:.1f} "
         f"(need no more)", work["instance_hours"] <= messages["instance_hours"]),
        (f"interrupted jobs {work['interrupted_jobs']}", work["interrupted_jobs"] == 0),
        (f"reversals {work['reversals_per_hour']:.2f}/h (need <= 2)",
         work["reversals_per_hour"] <= MAX_REVERSALS_PER_HOUR),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.autoscale")
    parser.add_argument("--seeds", type=int, default=5,
                        help="seeds for the robustness summary (the table uses seed 1)")
    parser.add_argument("--plot-dir", type=Path, help="write one PNG per trace here")
    args = parser.parse_args(argv)

    print(f"fleet {CONFIG.min_size}..{CONFIG.max_size}, boot {SIM.boot_s:.0f} s, tick "
          f"{SIM.interval_s:.0f} s, queue signals {SIM.staleness_s:.0f} s old, scale-in "
          f"window {CONFIG.scale_in_window_s:.0f} s; messages: {CONFIG.messages_per_instance}"
          f" per instance; work: {CONFIG.target_latency_s:.0f} s target, "
          f"{CONFIG.warmup_s:.0f} s warm-up\n")
    by_trace = {name: run_trace(name, 1, args.plot_dir) for name in traces.BUILT_IN}
    print(table([s for runs in by_trace.values() for s in runs.values()]))
    print("\n(instance-hours = busy encoding + boot h + idle h; the billed 60 s minimum "
          "counts as idle)")

    print(f"\nwork vs messages over seeds 1..{args.seeds} (mean; p95 and instance-hour "
          "ratios, reversals/h of work):")
    for name in traces.BUILT_IN:
        seeded = [run_trace(name, seed) for seed in range(1, args.seeds + 1)]
        p95 = statistics.mean(r["work"]["p95_wait_s"] / max(r["messages"]["p95_wait_s"], 1e-9)
                              for r in seeded)
        hours = statistics.mean(r["work"]["instance_hours"] / r["messages"]["instance_hours"]
                                for r in seeded)
        reversals = statistics.mean(r["work"]["reversals_per_hour"] for r in seeded)
        print(f"  {name:<10}  p95 x{p95:.2f}  instance-hours x{hours:.3f}  "
              f"reversals {reversals:.2f}/h")

    print("\ntarget (seed 1):")
    met = True
    for name in TARGET_TRACES:
        for text, ok in check(by_trace[name]):
            met &= ok
            print(f"  {'PASS' if ok else 'FAIL'}  {name:<10}  {text}")
    print("\nclairvoyant bound on burst (seed 1): " + burst_bound(by_trace["burst"]))
    print(f"\ntarget {'met' if met else 'NOT met'}")
    if not met:
        print(WHY_NOT)
    return 0 if met else 1


WHY_NOT = """why not (docs/SCALE.md, "Against the target"):
  - burst instance-hours: the bound above. Cutting the p95 by 40% takes more instances
    than the classic policy's 40, launched on the burst's first tick; their boots alone
    use up messages' whole overhead (its 40 boots and almost no idle time), so any lag,
    idle minute or spare launch of a real policy puts it over.
  - heavy-tail instance-hours: messages pays ~2% over the work itself; 5 messages per
    instance keeps ~4 queued jobs behind each worker, so a worker is rarely idle. A
    shorter queue runs dry more often: idle workers or another boot later. Swept over the
    latency target (seeds 1-5), work reaches messages' instance-hours at ~0.9 x its p95;
    a 40% cut costs ~0.5-1% (here +0.9%).
  - burst reversals: the background after the burst runs on 1-6 instances; launching
    when a job would wait past the target and releasing drained workers is what a
    reversal is. messages waits for 5 messages per instance first."""


def burst_bound(runs: dict[str, dict[str, Any]]) -> str:
    messages = runs["messages"]
    target = messages["p95_wait_s"] * MAX_P95_RATIO
    bound = clairvoyant(traces.load("burst", seed=1), p95_wait_s=target, max_size=MAX_SIZE,
                        warm=3, boot_s=SIM.boot_s, interval_s=SIM.interval_s)
    if bound.launched < 0:
        return (f"even {MAX_SIZE} instances up at the burst's first second give p95 "
                f"{bound.p95_wait_s:.0f} s > {target:.0f} s: that p95 is out of reach")
    verdict = ("more than" if bound.min_instance_hours > messages["instance_hours"]
               else "within")
    return (f"p95 <= {target:.0f} s needs >= {bound.launched} launches on the burst's first "
            f"tick, >= {bound.min_instance_hours:.2f} instance-hours (work + boots, never "
            f"idle): {verdict} messages' {messages['instance_hours']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
