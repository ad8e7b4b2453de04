"""The fleet simulator: determinism, scale-in protection, traces, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.costs import Prices, cost_of
from processor.autoscaler.policy import ScalingConfig
from processor.simulation import traces
from processor.simulation.bound import clairvoyant
from processor.simulation.engine import SimSettings, simulate, simulate_policies
from processor.simulation.report import percentile, summarize
from processor.simulation.traces import Job, Trace, TraceError
from tests.support.simulation import simulate_cli

ROOT = Path(__file__).resolve().parents[2]


def test_same_seed_same_result() -> None:
    config = ScalingConfig(policy="work", max_size=20)
    first = summarize(simulate(traces.load("heavy-tail", seed=7), config))
    again = summarize(simulate(traces.load("heavy-tail", seed=7), config))
    other = summarize(simulate(traces.load("heavy-tail", seed=8), config))
    assert first == again
    assert first != other


@pytest.mark.parametrize("name", sorted(traces.BUILT_IN))
def test_no_job_is_ever_interrupted(name: str) -> None:
    # No scale-in window: the fleet shrinks as eagerly as it can while workers are busy.
    config = ScalingConfig(max_size=20, scale_in_window_s=0)
    for result in simulate_policies(traces.load(name), ["messages", "work"], config):
        assert result.interrupted_jobs == 0
        assert len(result.waits) == len(traces.load(name).jobs)  # every job ran
        assert result.scale_events > 0


def test_hand_computed_fixed_fleet() -> None:
    # One warm instance, three 10-minute jobs at once: FIFO waits 0, 600, 1200 s;
    # the run lasts until the last job ends at 1800 s.
    trace = Trace("three", tuple(Job(0.0, 600.0) for _ in range(3)), duration_s=60.0)
    result = simulate(trace, ScalingConfig(min_size=1, max_size=1))
    assert result.waits == [0.0, 600.0, 1200.0]
    assert result.end_s == 1800.0
    assert result.instance_hours == pytest.approx(0.5)
    assert result.reversals == 0


def test_launches_wait_for_boot_and_stale_sqs_counts() -> None:
    # Ten 1-hour jobs at t=1. The controller ticks at 0, 60, ...; launches come into
    # service 300 s later. The work policy reads the jobs table (fresh) and launches nine
    # at 60; the messages policy reads SQS counts 60 s old, sees the jobs only at 120.
    trace = Trace("ten", tuple(Job(1.0, 3600.0) for _ in range(10)), duration_s=60.0)
    sim = SimSettings(boot_s=300.0, interval_s=60.0, staleness_s=60.0)
    work = simulate(trace, ScalingConfig(policy="work", max_size=10), sim)
    assert sorted(work.waits) == [0.0] + [359.0] * 9
    messages = simulate(trace, ScalingConfig(policy="messages", max_size=10,
                                             messages_per_instance=1), sim)
    assert sorted(messages.waits) == [0.0] + [419.0] * 9
    assert work.interrupted_jobs == messages.interrupted_jobs == 0


def test_instance_hours_split_into_busy_boot_and_idle() -> None:
    # Launched at 60, in service at 360: 9 x 300 s booting; billed at least 60 s each.
    trace = Trace("ten", tuple(Job(1.0, 3600.0) for _ in range(10)), duration_s=60.0)
    sim = SimSettings(boot_s=300.0, interval_s=60.0, staleness_s=60.0)
    result = simulate(trace, ScalingConfig(policy="work", max_size=10), sim)
    assert result.boot_hours == pytest.approx(9 * 300 / 3600)
    busy = result.work_s / 3600
    assert result.instance_hours == pytest.approx(busy + result.boot_hours + result.idle_hours)


def test_csv_trace(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("arrival_s,work_s,note\n30,120,b\n0,60,a\n")
    trace = traces.load(str(path))
    assert trace.jobs == (Job(0.0, 60.0), Job(30.0, 120.0))
    assert trace.name == "mine"
    assert summarize(simulate(trace, ScalingConfig()))["jobs"] == 2


@pytest.mark.parametrize(
    "text",
    ["arrival,work\n1,2\n", "arrival_s,work_s\n1,abc\n", "arrival_s,work_s\n1,0\n", ""],
)
def test_bad_csv_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(TraceError):
        traces.load(str(path))


def test_percentile_interpolates() -> None:
    assert percentile([], 95) == 0.0
    assert percentile([10.0, 0.0, 20.0], 50) == 10.0
    assert percentile([0.0, 100.0], 95) == pytest.approx(95.0)


def test_cli_json_for_one_policy(tmp_path: Path) -> None:
    plot = tmp_path / "fleet.png"
    done = simulate_cli("--trace", "burst", "--policy", "work", "--max-size", "20", "--seed", "3",
                "--json", "--plot", str(plot))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {"p50_wait_s", "p95_wait_s", "max_wait_s", "instance_hours", "reversals_per_hour",
            "interrupted_jobs"} <= set(out)
    assert out["policy"] == "work"
    assert out["interrupted_jobs"] == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("trace", ["no-such-trace", "missing.csv"])
def test_cli_bad_trace_exits_2(trace: str) -> None:
    done = simulate_cli("--trace", trace, "--policy", "messages", "--json")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ")
    assert done.stdout == ""


def test_rate_scale_multiplies_uploads() -> None:
    assert len(traces.load("burst", scale=0.25).jobs) < len(traces.load("burst").jobs) / 2
    with pytest.raises(TraceError):
        traces.load("steady", scale=0)


def test_clairvoyant_bound_by_hand() -> None:
    # Ten 1000 s jobs at t=0, one warm instance, boots of 100 s launched on the tick at 0:
    # a p95 within 100 s needs every job but the first on its own new instance.
    trace = Trace("ten", tuple(Job(0.0, 1000.0) for _ in range(10)), duration_s=60.0)
    bound = clairvoyant(trace, p95_wait_s=100.0, max_size=20, warm=1, boot_s=100.0,
                        interval_s=30.0)
    assert (bound.launched, bound.p95_wait_s) == (9, 100.0)
    assert bound.min_instance_hours == pytest.approx((10 * 1000 + 9 * 100) / 3600)
    capped = clairvoyant(trace, p95_wait_s=100.0, max_size=5, warm=1, boot_s=100.0,
                         interval_s=30.0)
    assert capped.launched == -1


def test_simulated_cost_is_the_cost_model_on_fleet_instance_hours() -> None:
    # Fleet cost (boot and idle included) per transcoded source minute, by common/costs.py.
    result = simulate(traces.load("steady", seed=2), ScalingConfig(policy="work", max_size=20))
    prices = Prices(on_demand_usd_per_hour=0.085, spot_usd_per_hour=0.03)
    summary = summarize(result, prices, instance_s_per_source_minute=60.0)
    cost = cost_of(instance_seconds=result.instance_hours * 3600,
                   source_seconds=result.work_s, prices=prices)
    assert summary["source_minutes"] == round(result.work_s / 60, 1)
    assert summary["cost_on_demand_usd"] == pytest.approx(result.instance_hours * 0.085,
                                                          abs=1e-5)
    assert summary["cost_spot_usd"] == pytest.approx(cost.compute_spot_usd, abs=1e-5)
    assert summary["usd_per_source_minute_on_demand"] == pytest.approx(
        result.instance_hours * 0.085 / (result.work_s / 60), abs=1e-5)


def test_cli_refuses_a_negative_price() -> None:
    done = simulate_cli("--trace", "steady", "--policy", "work", "--price", "-1", "--json")
    assert done.returncode == 2 and done.stderr.startswith("error: ")
