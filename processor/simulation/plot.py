"""PNG of queue depth and fleet size over time, one panel per simulated policy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from processor.simulation.engine import RunResult


def plot_runs(results: Sequence[RunResult], path: Path) -> Path:
    try:
        import matplotlib
    except ImportError:
        raise ValueError("plots need matplotlib: pip install 'videoforge[local]'") from None
    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        len(results), 1, figsize=(10, 3.2 * len(results)), sharex=True, squeeze=False
    )
    for ax, result in zip(axes[:, 0], results, strict=True):
        hours = [s.t / 3600 for s in result.timeline]
        ax.fill_between(hours, [s.queued for s in result.timeline], step="post",
                        color="tab:orange", alpha=0.35, label="queued jobs")
        ax.set_ylabel("queued jobs")
        fleet = ax.twinx()
        fleet.step(hours, [s.in_service + s.pending for s in result.timeline], where="post",
                   color="tab:blue", label="fleet (in service + pending)")
        fleet.step(hours, [s.busy for s in result.timeline], where="post",
                   color="tab:green", linewidth=0.8, label="busy")
        fleet.set_ylabel("instances")
        fleet.set_ylim(bottom=0)
        ax.set_title(f"{result.trace}: {result.policy} policy")
        handles = ax.get_legend_handles_labels()[0] + fleet.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper right", fontsize="small")
    axes[-1, 0].set_xlabel("hours")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
