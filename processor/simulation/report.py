"""Figures of a simulated run: queue wait percentiles, instance-hours, stability, cost."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from common.costs import Prices, cost_of
from processor.simulation.chunking import LONG_SOURCE_S
from processor.simulation.engine import RunResult
from processor.simulation.workload import INSTANCE_S_PER_SOURCE_MINUTE, source_seconds


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(result: RunResult, prices: Prices | None = None, *,
              instance_s_per_source_minute: float = INSTANCE_S_PER_SOURCE_MINUTE
              ) -> dict[str, Any]:
    """One flat dict per run (the ``--json`` output). Cost is the whole fleet's (boot and
    idle time are billed too) per transcoded source minute, in the platform's cost model."""
    hours = result.end_s / 3600
    busy_hours = result.work_s / 3600
    long_turnarounds = [
        t for t, work in zip(result.turnarounds, result.job_work_s, strict=True)
        if t is not None and source_seconds(work, instance_s_per_source_minute) > LONG_SOURCE_S]
    turnarounds = [t for t in result.turnarounds if t is not None]
    summary: dict[str, Any] = {
        "policy": result.policy,
        "trace": result.trace,
        "jobs": len(result.waits),
        "p50_wait_s": round(percentile(result.waits, 50), 1),
        "p95_wait_s": round(percentile(result.waits, 95), 1),
        "max_wait_s": round(max(result.waits, default=0.0), 1),
        "p95_turnaround_s": round(percentile(turnarounds, 95), 1),
        # Sources over 30 minutes: arrival -> READY (issue 10's chunking comparison).
        "long_sources": len(long_turnarounds),
        "long_p95_turnaround_s": round(percentile(long_turnarounds, 95), 1),
        "instance_hours": round(result.instance_hours, 2),
        "boot_hours": round(result.boot_hours, 2),
        "idle_hours": round(result.idle_hours, 2),
        "utilization": round(busy_hours / result.instance_hours, 3) if result.instance_hours
        else 0.0,
        "peak_fleet": max((s.in_service + s.pending for s in result.timeline), default=0),
        "scale_events": result.scale_events,
        "reversals": result.reversals,
        "reversals_per_hour": round(result.reversals / hours, 2) if hours else 0.0,
        "interrupted_jobs": result.interrupted_jobs,
        "simulated_hours": round(hours, 2),
    }
    cost = cost_of(instance_seconds=result.instance_hours * 3600,
                   source_seconds=source_seconds(result.trace_work_s,
                                                 instance_s_per_source_minute),
                   prices=prices)
    summary["source_minutes"] = round(cost.source_minutes, 1)
    summary.update({
        "cost_on_demand_usd": round(cost.compute_on_demand_usd, 5),
        "cost_spot_usd": round(cost.compute_spot_usd, 5),
        "usd_per_source_minute_on_demand":
            round(cost.per_source_minute(cost.compute_on_demand_usd) or 0.0, 5),
        "usd_per_source_minute_spot":
            round(cost.per_source_minute(cost.compute_spot_usd) or 0.0, 5),
    })
    return summary


_COLUMNS = [
    ("p50 wait s", "p50_wait_s", "{:.0f}"),
    ("p95 wait s", "p95_wait_s", "{:.0f}"),
    ("max wait s", "max_wait_s", "{:.0f}"),
    ("inst-hours", "instance_hours", "{:.1f}"),
    ("boot h", "boot_hours", "{:.2f}"),
    ("idle h", "idle_hours", "{:.2f}"),
    ("util", "utilization", "{:.0%}"),
    ("peak", "peak_fleet", "{}"),
    ("rev/h", "reversals_per_hour", "{:.2f}"),
    ("interrupted", "interrupted_jobs", "{}"),
    ("$ on-demand", "cost_on_demand_usd", "{:.2f}"),
    ("$ spot", "cost_spot_usd", "{:.2f}"),
    ("$/src-min OD", "usd_per_source_minute_on_demand", "{:.4f}"),
]


def table(summaries: Sequence[dict[str, Any]]) -> str:
    """A plain-text table, one row per (trace, policy) summary."""
    header = ["trace", "policy"] + [title for title, _, _ in _COLUMNS]
    rows = [
        [s["trace"], s["policy"]] + [fmt.format(s[key]) for _, key, fmt in _COLUMNS]
        for s in summaries
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first = [f"{cells[0]:<{widths[0]}}", f"{cells[1]:<{widths[1]}}"]
        rest = [f"{c:>{w}}" for c, w in zip(cells[2:], widths[2:], strict=True)]
        return "  ".join(first + rest)

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])
