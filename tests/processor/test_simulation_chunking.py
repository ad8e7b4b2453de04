"""Chunked jobs in the fleet simulator: the task split, the fair-share queue, hand-computed
runs, and the with/without comparison (issue 10)."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pytest

from processor.autoscaler.policy import ScalingConfig
from processor.simulation import bench_figures, traces
from processor.simulation.chunk_compare import compare, floor_hours
from processor.simulation.chunking import Chunking
from processor.simulation.engine import SimSettings, simulate
from processor.simulation.queue import FairQueue, Unit
from processor.simulation.traces import Job, Trace
from tests.support.simulation import simulate_cli
from videoforge.commands.simulate import add_chunking_arguments, chunking_from

CHUNKING = Chunking()  # 60 s chunks above 240 s; +1 s a chunk; split 0.3/min; stitch 5 + 0.5/min


def test_a_long_source_becomes_a_split_chunks_and_a_stitch() -> None:
    # 900 instance-seconds at 90 per source minute: a 10-minute source.
    tasks = CHUNKING.split(900.0)
    assert tasks is not None
    assert tasks.split == pytest.approx(3.0)
    assert tasks.chunks == pytest.approx((91.0,) * 10)
    assert tasks.audio == 0.0  # by default none of the job's work is moved to an audio task
    assert tasks.stitch == pytest.approx(5.0 + 0.5 * 10)
    assert CHUNKING.split(360.0) is None  # a 4-minute source runs whole
    longer = Chunking(chunk_s=120).split(900.0)
    assert longer is not None and longer.chunks == pytest.approx((181.0,) * 5)


def test_the_audio_and_the_finish_are_moved_out_of_the_chunks_not_added() -> None:
    moved = Chunking(audio_per_source_minute_s=1.0, finish_per_source_minute_s=0.5)
    tasks = moved.split(900.0)
    assert tasks is not None
    assert tasks.audio == pytest.approx(10.0)
    assert tasks.chunks == pytest.approx(((900 - 10 - 5) / 10 + 1.0,) * 10)
    # Added: 10 chunk overheads, the split, the stitch's join (its 5 s of finish was moved).
    assert tasks.work_s - 900 == pytest.approx(10 + 3 + (10 - 5))


@pytest.mark.parametrize("bad", [{"chunk_s": 0}, {"chunk_overhead_s": -1},
                                 {"instance_s_per_source_minute": 0},
                                 {"finish_per_source_minute_s": 1.0},  # > the stitch's 0.5
                                 {"audio_per_source_minute_s": 90.0}])
def test_bad_chunking_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Chunking(**bad)


# What bench-chunked wrote for a 3-minute source in 6 chunks (CPU seconds).
FIGURES = {"source_s": 180, "chunks": 6, "whole_cpu_s": 450.0, "chunked_cpu_s": 468.0,
           "split_cpu_s": 4.5, "audio_cpu_s": 3.0, "join_cpu_s": 3.0, "finish_cpu_s": 6.0}


def test_bench_figures_become_overheads_in_the_jobs_own_proportion() -> None:
    # 450 CPU-s stand for 3 x 90 = 270 instance-seconds: k = 0.6.
    chunking = bench_figures.measured(FIGURES)
    assert chunking.chunk_overhead_s == pytest.approx((468 - 450 - 4.5 - 3) / 6 * 0.6)
    assert chunking.split_per_source_minute_s == pytest.approx(4.5 * 0.6 / 3)
    assert chunking.audio_per_source_minute_s == pytest.approx(3 * 0.6 / 3)
    assert chunking.stitch_s == 0.0
    assert chunking.stitch_per_source_minute_s == pytest.approx(9 * 0.6 / 3)
    assert chunking.finish_per_source_minute_s == pytest.approx(6 * 0.6 / 3)
    # The bench's own source, cut as the bench cut it, costs in the simulator what it cost
    # the bench, in proportion: chunked / whole = 468 / 450.
    tasks = replace(chunking, threshold_s=60, chunk_s=30).split(270.0)
    assert tasks is not None and len(tasks.chunks) == 6
    assert tasks.work_s / 270 == pytest.approx(468 / 450)
    # Cheaper apart than together: no negative overhead per chunk.
    cheap = bench_figures.measured({**FIGURES, "chunked_cpu_s": 455.0})
    assert cheap.chunk_overhead_s == 0.0


def test_bench_figures_files(tmp_path: Path) -> None:
    good = tmp_path / "chunked.json"
    good.write_text(json.dumps({**FIGURES, "when_utc": "x"}))
    assert bench_figures.read(good)["whole_cpu_s"] == 450.0
    for text in ("not json", "[]", json.dumps({"source_s": 180})):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(bench_figures.FiguresError):
            bench_figures.read(bad)
    with pytest.raises(bench_figures.FiguresError):
        bench_figures.read(tmp_path / "missing.json")


def test_one_unit_jobs_are_first_come_first_served() -> None:
    queue = FairQueue()
    for job in range(3):
        queue.push(Unit(job, 10.0))
    assert len(queue) == 3 and queue.work_s == 30.0
    assert [queue.pop().job for _ in range(3)] == [0, 1, 2]  # type: ignore[union-attr]
    assert queue.pop() is None


def test_a_job_with_fewer_running_units_goes_first() -> None:
    queue = FairQueue()
    for _ in range(3):
        queue.push(Unit(0, 10.0))  # a chunked job, first in
    first = queue.pop()
    assert first is not None and first.job == 0
    queue.push(Unit(1, 10.0))  # a short job behind its chunks
    assert queue.pop().job == 1  # type: ignore[union-attr]  # job 0 runs one already
    assert queue.pop().job == 0  # type: ignore[union-attr]  # both run one: oldest first
    queue.done(first)
    queue.push(first, front=True)  # taken off its worker: back at the front of its job
    assert queue.pop() is first


def test_among_equals_the_job_served_longest_ago_goes_first() -> None:
    # One worker: the long job has nothing running either when it frees up, yet the
    # short job that has never had a worker goes next.
    queue = FairQueue()
    for _ in range(3):
        queue.push(Unit(0, 10.0))
    chunk = queue.pop()
    assert chunk is not None
    queue.push(Unit(1, 10.0))
    queue.done(chunk)
    assert queue.pop().job == 1  # type: ignore[union-attr]


def test_a_started_chunked_job_keeps_going_before_one_started_after_it() -> None:
    # Tasks carry on their job's one share and do not serve it again (common/scheduler.py):
    # job 0 started first, so its chunks go before job 1's, however their running units
    # compare; a job with nothing running (job 2, new) still goes before both.
    queue = FairQueue()
    for job in (0, 1):
        for _ in range(3):
            queue.push(Unit(job, 10.0, task=True))
    assert [queue.pop().job for _ in range(3)] == [0, 1, 0]  # type: ignore[union-attr]
    queue.push(Unit(2, 10.0))
    assert [queue.pop().job for _ in range(4)] == [2, 0, 1, 1]  # type: ignore[union-attr]


def test_without_shares_the_oldest_job_goes_first_its_tasks_in_order() -> None:
    # The what-if (SimSettings.fair_share=False): a started chunked job keeps its place.
    queue = FairQueue(fair_share=False)
    for _ in range(3):
        queue.push(Unit(0, 10.0))
    first = queue.pop()
    assert first is not None and first.job == 0
    queue.push(Unit(1, 10.0))
    assert [queue.pop().job for _ in range(3)] == [0, 0, 1]  # type: ignore[union-attr]
    assert queue.pop() is None and len(queue) == 0
    queue.done(first)


def test_without_shares_a_short_job_waits_behind_a_long_ones_chunks() -> None:
    # The same two jobs as below without the shares: the 30 s upload starts only after
    # the long job's ten chunks and its stitch (t = 3 + 10 x 91 + 10 = 923).
    trace = Trace("two", (Job(0.0, 900.0), Job(5.0, 30.0)), duration_s=6.0)
    result = simulate(trace, _fixed(1), SimSettings(chunking=CHUNKING, fair_share=False))
    assert result.waits[1] == pytest.approx(918.0)
    unchunked = [simulate(trace, _fixed(1), SimSettings(fair_share=fair)) for fair in (True, False)]
    assert unchunked[0].waits == unchunked[1].waits  # one unit per job: the same order


def test_with_a_hold_started_chunks_go_first_until_a_new_job_has_waited_it() -> None:
    # The hold what-if (SimSettings.chunk_hold_s): job 0's chunks go before job 1, which
    # was queued at t = 0, until job 1 has waited 100 s.
    queue = FairQueue(hold_s=100.0)
    for _ in range(3):
        queue.push(Unit(0, 10.0, task=True))
    assert queue.pop(now=0.0).job == 0  # type: ignore[union-attr]
    queue.push(Unit(1, 10.0))
    assert queue.pop(now=99.0).job == 0  # type: ignore[union-attr]
    assert queue.pop(now=100.0).job == 1  # type: ignore[union-attr]
    assert queue.pop(now=100.0).job == 0  # type: ignore[union-attr]
    assert queue.pop(now=100.0) is None


def test_with_a_hold_a_short_job_starts_at_the_first_free_worker_past_it() -> None:
    # The long job's chunks free the one worker at 94, 185 and 276 s (a 3 s split, then
    # 91 s chunks); the 30 s upload queued at 5 s is overdue for a 200 s hold at 205 s,
    # so it takes the worker at 276 s: 89 s with the shares, 918 s without.
    trace = Trace("two", (Job(0.0, 900.0), Job(5.0, 30.0)), duration_s=6.0)
    held = simulate(trace, _fixed(1), SimSettings(chunking=CHUNKING, chunk_hold_s=200.0))
    assert held.waits[1] == pytest.approx(271.0)
    shared = simulate(trace, _fixed(1), SimSettings(chunking=CHUNKING))
    assert shared.waits[1] == pytest.approx(89.0)
    with pytest.raises(ValueError, match="chunk_hold_s"):
        SimSettings(chunk_hold_s=-1.0)


def _fixed(size: int) -> ScalingConfig:
    return ScalingConfig(min_size=size, max_size=size)


def test_hand_computed_chunked_job_on_a_fixed_fleet() -> None:
    trace = Trace("one", (Job(0.0, 900.0),), duration_s=1.0)
    one = simulate(trace, _fixed(1), SimSettings(chunking=CHUNKING))
    # One worker: the 3 s split, ten 91 s chunks, then the 10 s stitch.
    assert one.turnarounds == [pytest.approx(3 + 910 + 10)]
    assert one.work_s == pytest.approx(923.0) and one.trace_work_s == 900.0
    two = simulate(trace, _fixed(2), SimSettings(chunking=CHUNKING))
    # Two workers: the split, five chunks each (455 s), then the stitch.
    assert two.turnarounds == [pytest.approx(3 + 455 + 10)]
    assert two.waits == [0.0]
    whole = simulate(trace, _fixed(2), SimSettings())
    assert whole.turnarounds == [900.0] and whole.work_s == 900.0


def test_the_audio_runs_beside_the_split_and_the_chunks() -> None:
    trace = Trace("one", (Job(0.0, 900.0),), duration_s=1.0)
    audio = Chunking(audio_per_source_minute_s=0.6)  # 6 s, moved out of the chunks
    two = simulate(trace, _fixed(2), SimSettings(chunking=audio))
    # Split (3 s) and audio (6 s) at once; chunks of 90.4 s from t=3 on one worker and
    # t=6 on the other: five each, the last ends at 6 + 452; then the stitch.
    assert two.turnarounds == [pytest.approx(6 + 5 * 90.4 + 10)]


def test_a_short_job_does_not_wait_behind_a_long_ones_chunks() -> None:
    # A 10-minute source at t=0 on one worker (split to t=3, its first chunk to t=94), a
    # 30 s upload at t=5: it runs next (t=94), not after the long job's other nine chunks.
    trace = Trace("two", (Job(0.0, 900.0), Job(5.0, 30.0)), duration_s=6.0)
    result = simulate(trace, _fixed(1), SimSettings(chunking=CHUNKING))
    assert result.waits[1] == pytest.approx(89.0)
    assert result.turnarounds[1] == pytest.approx(119.0)


@pytest.mark.parametrize("name", ["heavy-tail", "burst"])
def test_every_chunked_job_finishes_and_none_is_interrupted(name: str) -> None:
    config = ScalingConfig(policy="work", max_size=60, scale_in_window_s=0)
    result = simulate(traces.load(name), config, SimSettings(chunking=CHUNKING))
    assert result.interrupted_jobs == 0
    assert None not in result.turnarounds
    assert len(result.turnarounds) == len(traces.load(name).jobs)
    assert result.work_s > result.trace_work_s  # the overheads are paid


def test_chunking_cuts_long_turnaround_and_the_floor_is_positive() -> None:
    runs = [traces.load("heavy-tail", seed=1)]
    result = compare(runs, ScalingConfig(policy="work", max_size=60), SimSettings(), CHUNKING)
    assert len(result.whole.long_turnarounds) == len(result.chunked.long_turnarounds) > 0
    assert result.speedup > 2 and result.hours_ratio > 1
    assert 0 < floor_hours(runs, CHUNKING, boot_s=120.0) < result.chunked.instance_hours


def test_options_override_the_bench_figures(tmp_path: Path) -> None:
    figures = tmp_path / "chunked.json"
    figures.write_text(json.dumps(FIGURES))
    parser = argparse.ArgumentParser()
    add_chunking_arguments(parser, figures=figures)
    measured = chunking_from(parser.parse_args([]))
    assert measured == bench_figures.measured(FIGURES)
    assert chunking_from(parser.parse_args(["--chunk-s", "30"])) == replace(measured, chunk_s=30)
    plain = argparse.ArgumentParser()
    add_chunking_arguments(plain)
    assert chunking_from(plain.parse_args([])) == Chunking()


def test_cli_takes_the_overheads_from_bench_figures(tmp_path: Path) -> None:
    figures = tmp_path / "chunked.json"
    figures.write_text(json.dumps(FIGURES))
    done = simulate_cli("--trace", "heavy-tail", "--policy", "work", "--chunking", "both",
                        "--bench-figures", str(figures), "--chunk-overhead-s", "0")
    assert done.returncode == 0, done.stderr
    assert "work      chunked" in done.stdout


def test_cli_compares_with_and_without_chunking() -> None:
    done = simulate_cli("--trace", "heavy-tail", "--policy", "work", "--chunking", "both")
    assert done.returncode == 0, done.stderr
    assert "work      chunked" in done.stdout and "long p95 turnaround" in done.stdout
    bad = simulate_cli("--trace", "heavy-tail", "--chunking", "on", "--chunk-s", "0")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
    missing = simulate_cli("--trace", "heavy-tail", "--chunking", "on", "--bench-figures",
                           "no/such/chunked.json")
    assert missing.returncode == 2 and "cannot read bench figures" in missing.stderr
