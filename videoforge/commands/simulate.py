"""``videoforge simulate``: replay a job trace against the autoscaling policies.

Runs the controller's own decision code in a discrete-event simulation of the fleet and
prints queue-wait percentiles, instance-hours, scale reversals and cost per policy.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from common.costs import Prices
from processor.autoscaler.policy import POLICIES, ScalingConfig
from processor.simulation import bench_figures, chunk_compare, traces
from processor.simulation.chunking import Chunking
from processor.simulation.engine import SimSettings, simulate_policies
from processor.simulation.plot import plot_runs
from processor.simulation.report import summarize, table
from processor.simulation.workload import INSTANCE_S_PER_SOURCE_MINUTE

EXIT_BAD_INPUT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults, sim, prices = ScalingConfig(), SimSettings(), Prices()
    parser.add_argument("--trace", required=True,
                        help=f"built-in trace ({', '.join(traces.BUILT_IN)}) or a CSV file "
                             "with columns arrival_s,work_s")
    parser.add_argument("--policy", choices=[*POLICIES, "both"], default="both")
    parser.add_argument("--max-size", type=int, default=60,
                        help="the fleet cap (bench.autoscale uses 60)")
    parser.add_argument("--min-size", type=int, default=defaults.min_size)
    parser.add_argument("--seed", type=int, default=1, help="seed of a built-in trace")
    parser.add_argument("--rate-scale", type=float, default=1.0,
                        help="multiply a built-in trace's upload rate (e.g. 380: 1M a day)")
    parser.add_argument("--messages-per-instance", type=int,
                        default=defaults.messages_per_instance)
    parser.add_argument("--target-latency-s", type=float, default=defaults.target_latency_s)
    parser.add_argument("--warmup-s", type=float, default=defaults.warmup_s,
                        help="the policy's estimate of boot + warm-up")
    parser.add_argument("--scale-in-window-s", type=float,
                        default=defaults.scale_in_window_s)
    parser.add_argument("--boot-s", type=float, default=sim.boot_s,
                        help="simulated launch-to-in-service time")
    parser.add_argument("--interval-s", type=float, default=sim.interval_s,
                        help="controller tick")
    parser.add_argument("--staleness-s", type=float, default=sim.staleness_s,
                        help="age of the queue signals the controller sees")
    parser.add_argument("--price", type=float, default=prices.on_demand_usd_per_hour,
                        help="on-demand USD per instance-hour")
    parser.add_argument("--spot-price", type=float, default=prices.spot_usd_per_hour,
                        help="spot USD per instance-hour")
    parser.add_argument("--instance-s-per-source-minute", type=float,
                        default=INSTANCE_S_PER_SOURCE_MINUTE)
    parser.add_argument("--chunking", choices=["off", "on", "both"], default="off",
                        help="split long sources into chunk tasks (issue 10); both: compare "
                             "the long sources' turnaround with and without")
    add_chunking_arguments(parser)
    parser.add_argument("--plot", type=Path, help="write a PNG of queue and fleet over time")
    parser.add_argument("--json", action="store_true",
                        help="print JSON: one object, or one per policy keyed by name")


# The chunking model's knobs as options (--chunk-threshold-s ...), with what they mean.
_CHUNKING_OPTIONS = {
    "threshold_s": ("chunk-threshold-s", "source seconds above which a job is chunked"),
    "chunk_s": ("chunk-s", "source seconds per chunk"),
    "chunk_overhead_s": ("chunk-overhead-s",
                         "instance-seconds each chunk adds (bench-chunked measures it)"),
    "split_per_source_minute_s": ("split-per-source-minute-s",
                                  "instance-seconds of the split per source minute"),
    "stitch_s": ("stitch-s", "instance-seconds of a stitch, fixed part"),
    "stitch_per_source_minute_s": ("stitch-per-source-minute-s",
                                   "instance-seconds of a stitch per source minute"),
    "finish_per_source_minute_s": ("finish-per-source-minute-s",
                                   "of the stitch, the packaging and previews a whole job "
                                   "does too (moved, not added)"),
    "audio_per_source_minute_s": ("audio-per-source-minute-s",
                                  "instance-seconds of the audio task per source minute "
                                  "(moved out of the chunks, not added)"),
}


def add_chunking_arguments(parser: argparse.ArgumentParser, *,
                           figures: Path | None = None) -> None:
    """The chunking options; their defaults are ``figures`` (a bench-chunked result)
    when given, else processor/simulation/chunking.py's."""
    parser.add_argument("--bench-figures", type=Path, default=figures,
                        help="take the chunking overheads from a bench-chunked result "
                             "(bench/results/chunked.json); the options below override")
    defaults = Chunking()
    for field, (option, meaning) in _CHUNKING_OPTIONS.items():
        parser.add_argument(f"--{option}", dest=field, type=float, default=None,
                            help=f"{meaning} (default {getattr(defaults, field):g})")


def chunking_from(args: argparse.Namespace, **extra: float) -> Chunking:
    """The Chunking the options ask for; ValueError for impossible values (FiguresError,
    one, for a figures file that cannot be read)."""
    base = Chunking(**extra)
    if args.bench_figures is not None:
        base = bench_figures.measured(bench_figures.read(args.bench_figures), base)
    given = {field: getattr(args, field) for field in _CHUNKING_OPTIONS
             if getattr(args, field) is not None}
    return replace(base, **given)


def run(args: argparse.Namespace) -> int:
    try:
        trace = traces.load(args.trace, seed=args.seed, scale=args.rate_scale)
        config = ScalingConfig(
            min_size=args.min_size, max_size=args.max_size,
            messages_per_instance=args.messages_per_instance,
            target_latency_s=args.target_latency_s, warmup_s=args.warmup_s,
            scale_in_window_s=args.scale_in_window_s,
        )
        sim = SimSettings(boot_s=args.boot_s, interval_s=args.interval_s,
                          staleness_s=args.staleness_s)
        prices = Prices(on_demand_usd_per_hour=args.price, spot_usd_per_hour=args.spot_price)
        chunking = chunking_from(
            args, instance_s_per_source_minute=args.instance_s_per_source_minute)
        if not trace.jobs:
            raise ValueError(f"trace {args.trace!r} has no jobs")
    except ValueError as exc:  # TraceError included
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    policies = list(POLICIES) if args.policy == "both" else [args.policy]
    if args.chunking == "both":
        comparisons = [chunk_compare.compare([trace], replace(config, policy=policy), sim,
                                             chunking) for policy in policies]
        print(chunk_compare.table(comparisons))
        return 0
    if args.chunking == "on":
        sim = replace(sim, chunking=chunking)
    results = simulate_policies(trace, policies, config, sim)
    summaries = [summarize(r, prices,
                           instance_s_per_source_minute=args.instance_s_per_source_minute)
                 for r in results]
    if args.plot:
        plot_runs(results, args.plot)
    if args.json:
        out = summaries[0] if len(summaries) == 1 else {s["policy"]: s for s in summaries}
        print(json.dumps(out, sort_keys=True))
        return 0
    print(f"trace {trace.name}: {len(trace.jobs)} jobs, {trace.source_minutes:.0f} source "
          f"minutes over {trace.duration_s / 3600:.1f} h; fleet {config.min_size}..."
          f"{config.max_size}, boot {sim.boot_s:.0f} s, tick {sim.interval_s:.0f} s, "
          f"signals {sim.staleness_s:.0f} s old")
    print(table(summaries))
    if args.plot:
        print(f"plot: {args.plot}")
    return 0
