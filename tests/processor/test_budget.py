"""No upload can hold a worker: FFmpeg runs stop past a CPU-seconds budget (RLIMIT_CPU)
or a wall-clock cap, and the job fails with budget_exceeded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from common.error_codes import ErrorCode
from common.statuses import JobStatus
from processor.errors import BudgetExceeded
from processor.ffmpeg import run_ffmpeg
from processor.ffprobe import RunLimits, run_tool
from processor.intake import intake
from processor.job_runner import Outcome
from processor.limits import Budget, BudgetPolicy
from tests.support.worker import Stack

Clip = Callable[[str], Path]
REPO = Path(__file__).resolve().parents[2]
# Hard work that never ends on its own: x264 at a slow preset on endless 1080p.
_ENDLESS_ENCODE = ["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-c:v", "libx264",
                   "-preset", "medium", "-f", "null", "-"]


def test_the_cpu_budget_stops_ffmpeg() -> None:
    started = time.monotonic()
    with pytest.raises(BudgetExceeded, match="more than its 1 CPU-second budget") as caught:
        run_ffmpeg(_ENDLESS_ENCODE, budget=Budget(cpu_s=1, wall_s=600))
    assert caught.value.code == ErrorCode.BUDGET_EXCEEDED
    assert time.monotonic() - started < 60


def test_the_wall_clock_cap_stops_ffmpeg() -> None:
    started = time.monotonic()
    with pytest.raises(BudgetExceeded, match="past its 1 s time budget"):
        run_ffmpeg(["-re", *_ENDLESS_ENCODE[:4], "-f", "null", "-"],
                   budget=Budget(cpu_s=600, wall_s=1))
    assert time.monotonic() - started < 30


def test_within_budget_nothing_happens() -> None:
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10:duration=1", "-f", "null",
                "-"], budget=Budget(cpu_s=30, wall_s=60))


@pytest.mark.parametrize(("limits", "reason"), [
    (RunLimits(timeout_s=60, cpu_s=1), "used over 1 CPU-seconds"),
    (RunLimits(timeout_s=0.5, cpu_s=600), "took over"),
])
def test_intake_runs_are_bounded_too(limits: RunLimits, reason: str) -> None:
    endless = ["ffprobe", "-v", "quiet", "-f", "lavfi", "-i", "testsrc2=size=3840x2160",
               "-show_frames", "-of", "csv"]
    with pytest.raises(BudgetExceeded, match=reason):
        run_tool(endless, limits)


def test_the_budget_grows_with_measured_seconds_and_coded_pixels(clip: Clip) -> None:
    info = intake(clip("ladder"))  # 3 s of 1280x720
    policy = BudgetPolicy(cpu_s_per_mpx_s=20.0, min_cpu_s=1.0, wall_factor=4.0)
    budget = policy.for_source(info)
    assert budget.cpu_s == pytest.approx(20.0 * 3.0 * 1280 * 720 / 1e6, rel=0.05)
    assert budget.wall_s == pytest.approx(4 * budget.cpu_s)
    assert BudgetPolicy(min_cpu_s=120.0).for_source(info).cpu_s == 120.0  # the floor


def test_a_source_past_its_budget_exits_2_with_the_reason(clip: Clip, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "VF_CPU_BUDGET_MIN_S": "1",
           "VF_CPU_BUDGET_PER_MPX_S": "0.001", "VF_WALL_BUDGET_FACTOR": "200"}
    proc = subprocess.run([sys.executable, "-m", "videoforge", "transcode", str(clip("ladder")),
                           str(tmp_path / "out"), "--preset", "veryslow"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: the encode used more than its 1 CPU-second budget")


def test_a_job_past_its_budget_fails_with_budget_exceeded(stack: Stack, clip: Clip) -> None:
    job = stack.submit(clip("ladder"))
    worker = stack.worker(x264_preset="veryslow", cpu_budget_min_s=1.0,
                          cpu_budget_per_mpx_s=0.001, wall_budget_factor=200.0)
    assert worker.step() == Outcome.FAILED
    done = stack.job(job.id)
    assert (done.status, done.error_code) == (JobStatus.FAILED, ErrorCode.BUDGET_EXCEEDED)
    assert done.error == "bad input: the encode used more than its 1 CPU-second budget"
    assert stack.queue_empty()  # not retried: the same source would run away again
