"""``videoforge worker`` as real processes: killed mid-job, drained on SIGTERM, and a
second signal that exits at once."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

from common.job_state import JobStatus
from tests.support.worker import Stack, ffmpeg_of, wait_for
from videoforge.stack.net import free_port


def _running(stack: Stack, job_id: str, worker_id: str) -> bool:
    job = stack.job(job_id)
    return job.status == JobStatus.RUNNING and job.worker_id == worker_id and job.progress > 0


def test_a_killed_workers_job_is_finished_exactly_once_by_another(
        stack: Stack, long_clip: Path, spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    job = stack.submit(long_clip)
    first = spawn("worker-a", VF_X264_PRESET="placebo")
    wait_for(lambda: stack.job(job.id).status == JobStatus.RUNNING, timeout=60)
    # The second worker polls meanwhile, but A's heartbeat keeps the message from it.
    second = spawn("worker-b", "--once")
    wait_for(lambda: _running(stack, job.id, "worker-a"), timeout=60)

    os.killpg(first.pid, signal.SIGKILL)  # the machine dies: worker and FFmpeg
    first.wait()

    assert second.wait(timeout=90) == 0
    done = stack.job(job.id)
    assert done.status == JobStatus.SUCCEEDED and done.worker_id == "worker-b"
    assert done.attempts == 2
    assets = stack.assets(job.id)
    assert len(assets) == len({(a.kind, a.quality) for a in assets}) > 0
    assert {a.key for a in assets} <= set(stack.media_keys(done))
    assert stack.queue_empty()


def test_sigterm_lets_the_job_finish_and_takes_no_more(
        stack: Stack, long_clip: Path, spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    port = free_port()
    job = stack.submit(long_clip)
    worker = spawn("worker-d", VF_DRAIN_TIMEOUT_S="90", VF_METRICS_PORT=str(port))
    wait_for(lambda: stack.job(job.id).status == JobStatus.RUNNING, timeout=60)

    worker.send_signal(signal.SIGTERM)  # the whole job still lies ahead
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert "videoforge_jobs_in_flight 1.0" in response.read().decode()
    waiting = stack.submit(long_clip)

    assert worker.wait(timeout=90) == 0
    assert stack.job(job.id).status == JobStatus.SUCCEEDED
    assert stack.job(waiting.id).status == JobStatus.QUEUED
    assert stack.broker.counts().visible == 1


def test_a_second_signal_exits_at_once(
        stack: Stack, long_clip: Path, spawn: Callable[..., subprocess.Popen[bytes]],
        tmp_path: Path) -> None:
    job = stack.submit(long_clip)
    worker = spawn("worker-e", VF_X264_PRESET="placebo", VF_DRAIN_TIMEOUT_S="90")
    wait_for(lambda: _running(stack, job.id, "worker-e"), timeout=60)
    assert ffmpeg_of(job.id)

    worker.send_signal(signal.SIGTERM)
    wait_for(lambda: b"worker_draining" in (tmp_path / "worker-e.log").read_bytes())
    worker.send_signal(signal.SIGTERM)

    assert worker.wait(timeout=10) == 128 + signal.SIGTERM
    wait_for(lambda: not ffmpeg_of(job.id), timeout=5)  # FFmpeg went with it
    # Nothing was published; the job waits for the stale-heartbeat takeover.
    done = stack.job(job.id)
    assert done.status == JobStatus.RUNNING and stack.assets(job.id) == []
    assert stack.media_keys(done) == []

