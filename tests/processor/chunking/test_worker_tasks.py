"""A long source through one in-process worker and the real queue (moto SQS, PostgreSQL):
the split creates the tasks, each is claimed and settled on its own row, the stitch
publishes what an unchunked job publishes and leaves no intermediates."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from common.job_state import JobStatus
from common.models import TaskKind
from processor.outcome import Outcome
from tests.processor.chunking.worker_checks import tasks_of, work_keys
from tests.support.chunking import make_long_source
from tests.support.worker import Stack

# 16 s in chunks of ~6 s: three chunks.
CHUNKING = {"chunk_threshold_s": 10, "chunk_length_s": 6}


@pytest.fixture(scope="module")
def long_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_long_source(tmp_path_factory.mktemp("chunked") / "long.mp4", seconds=16,
                            size="640x360")


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_long_source_runs_as_tasks_to_ready(stack: Stack, long_source: Path) -> None:
    job = stack.submit(long_source)
    worker = stack.worker(**CHUNKING)
    jobs = _metric("videoforge_jobs_total", outcome="succeeded")
    tasks = {kind: _metric("videoforge_tasks_total", kind=kind, outcome="succeeded")
             for kind in ("audio", "chunk", "stitch")}
    outcomes, jobs_counted = [], []
    while stack.job(job.id).status == JobStatus.QUEUED or \
            stack.job(job.id).status == JobStatus.RUNNING:
        outcome = worker.step(wait_s=1)
        assert outcome is not None and len(outcomes) < 10
        outcomes.append(outcome)
        jobs_counted.append(_metric("videoforge_jobs_total", outcome="succeeded") - jobs)
    # The split's worker ran the audio itself, then audio, three chunks, the stitch.
    assert outcomes == [Outcome.SUCCEEDED] * 5
    # Every task is counted; the job once, when its stitch publishes it.
    assert {kind: _metric("videoforge_tasks_total", kind=kind, outcome="succeeded") - n
            for kind, n in tasks.items()} == {"audio": 1, "chunk": 3, "stitch": 1}
    assert jobs_counted == [0, 0, 0, 0, 1]
    assert _metric("videoforge_jobs_in_flight") == 0
    done = stack.job(job.id)
    assert done.status == JobStatus.SUCCEEDED and done.chunked and done.progress == 1.0
    tasks = tasks_of(stack, job.id)
    assert [t.kind for t in tasks] == [TaskKind.AUDIO, *[TaskKind.CHUNK] * 3, TaskKind.STITCH]
    assert all(t.status == JobStatus.SUCCEEDED and t.attempts == 1 for t in tasks)
    assert done.instance_seconds and done.instance_seconds >= sum(
        t.instance_seconds or 0 for t in tasks)
    assets = stack.assets(job.id)
    assert {a.key for a in assets} <= set(stack.media_keys(done))
    assert stack.video(job.video_id).status.value == "READY"
    assert work_keys(stack, job.id) == []  # the intermediates are gone
    assert stack.queue_empty()


def test_below_the_threshold_a_job_runs_whole(stack: Stack, long_source: Path) -> None:
    job = stack.submit(long_source)
    assert stack.worker(chunk_threshold_s=60).step(wait_s=1) == Outcome.SUCCEEDED
    done = stack.job(job.id)
    assert done.status == JobStatus.SUCCEEDED and not done.chunked
    assert tasks_of(stack, job.id) == [] and work_keys(stack, job.id) == []


@pytest.mark.parametrize("hold_s", [600.0, None])
def test_the_chunk_hold_keeps_a_started_job_on_the_worker(
        stack: Stack, long_source: Path, tmp_path: Path, hold_s: float | None) -> None:
    """VF_CHUNK_HOLD_S through a real worker: after u1's split, u2's new upload (no share
    running) takes the worker at once without the hold, and waits behind u1's chunk with it."""
    job = stack.submit(long_source, owner="u1")
    worker = stack.worker(**CHUNKING, chunk_hold_s=hold_s)
    assert worker.step(wait_s=1) == Outcome.SUCCEEDED  # the split (and the audio)
    short = stack.submit(make_long_source(tmp_path / "short.mp4", seconds=2, size="320x180"),
                         owner="u2")
    assert worker.step(wait_s=1) == Outcome.SUCCEEDED
    chunks_done = [t for t in tasks_of(stack, job.id)
                   if t.kind == TaskKind.CHUNK and t.status == JobStatus.SUCCEEDED]
    if hold_s is None:
        assert stack.job(short.id).status == JobStatus.SUCCEEDED and chunks_done == []
    else:
        assert stack.job(short.id).status == JobStatus.QUEUED and len(chunks_done) == 1
