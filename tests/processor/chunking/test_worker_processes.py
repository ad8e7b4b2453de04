"""Chunked jobs through real ``videoforge worker`` processes and the real queue (moto SQS,
PostgreSQL), issue 10's reliability list: the outputs match an unchunked transcode's; a
worker SIGKILLed mid-chunk costs that chunk only and the job completes once; cancel stops
every chunk; a chunk that keeps failing fails the job once, with nothing published."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from common.db import transaction
from common.events import EventType
from common.job_state import CancelOutcome, JobStatus, request_cancel
from common.messages import WakeUp
from common.models import Task, TaskKind, VideoStatus
from common.storage import media_prefix
from processor.chunking.work import work_prefix
from processor.encode import EncodeSettings
from processor.outcome import Outcome
from processor.transcode import transcode
from processor.transcode_settings import TranscodeSettings
from tests.processor.chunking.worker_checks import events_of, tasks_of, work_keys
from tests.support.chunking import check_indistinguishable, make_long_source
from tests.support.worker import Stack, ffmpeg_of, wait_for

Spawn = Callable[..., subprocess.Popen[bytes]]
# 16 s in chunks of ~6 s: three chunks (and the audio, and the stitch).
CHUNKING = {"VF_CHUNK_THRESHOLD_S": "10", "VF_CHUNK_LENGTH_S": "6"}


@pytest.fixture(scope="module")
def long_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_long_source(tmp_path_factory.mktemp("chunked") / "long.mp4", seconds=16)


@pytest.fixture(scope="module")
def small_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same at 360p: one quality, so the slow presets below cost little."""
    return make_long_source(tmp_path_factory.mktemp("chunked") / "small.mp4", seconds=16,
                            size="640x360")


def _finished(stack: Stack, job_id: str) -> bool:
    return stack.job(job_id).status not in (JobStatus.QUEUED, JobStatus.RUNNING)


def _running_chunk(stack: Stack, job_id: str, worker_id: str | None = None) -> Task | None:
    for task in tasks_of(stack, job_id):
        if task.kind == TaskKind.CHUNK and task.status == JobStatus.RUNNING and \
                task.progress > 0 and worker_id in (None, task.worker_id):
            return task
    return None


def _download(stack: Stack, prefix: str, into: Path) -> Path:
    found = stack.s3.list_objects_v2(Bucket=stack.resources.media_bucket, Prefix=prefix)
    for obj in found.get("Contents", []):
        path = into / obj["Key"].removeprefix(prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        stack.s3.download_file(stack.resources.media_bucket, obj["Key"], str(path))
    return into


def _nothing_left(stack: Stack, job_id: str) -> None:
    job = stack.job(job_id)
    wait_for(lambda: not ffmpeg_of(job_id), timeout=10)
    assert stack.assets(job_id) == []
    # Removed by whoever ended the job, and again by any task that ends after it.
    wait_for(lambda: stack.media_keys(job) == [] and work_keys(stack, job_id) == [],
             timeout=10)


def test_workers_share_a_long_source_and_match_an_unchunked_transcode(
        stack: Stack, long_source: Path, spawn: Spawn, tmp_path: Path) -> None:
    job = stack.submit(long_source)
    # veryfast, as production encodes: rate control (VBV, lookahead) is what chunk starts
    # disturb, and ultrafast has too little of it to compare (tests/processor/chunking/
    # test_equivalence.py, the same source and chunk plan in one process).
    for name in ("worker-a", "worker-b"):
        spawn(name, VF_X264_PRESET="veryfast", **CHUNKING)
    wait_for(lambda: _finished(stack, job.id), timeout=240, interval=0.5)

    done = stack.job(job.id)
    assert done.status == JobStatus.SUCCEEDED and done.chunked, done.error
    tasks = tasks_of(stack, job.id)
    assert len([t for t in tasks if t.kind == TaskKind.CHUNK]) == 3
    assert all(t.status == JobStatus.SUCCEEDED and t.attempts == 1 for t in tasks)
    assert events_of(stack, job.id, EventType.JOB_SUCCEEDED) == 1
    wait_for(lambda: work_keys(stack, job.id) == [], timeout=10)  # after the publish
    wait_for(stack.queue_empty, timeout=30)

    chunked = _download(stack, media_prefix(video_id=job.video_id, job_id=job.id),
                        tmp_path / "chunked")
    whole = tmp_path / "whole"
    transcode(long_source, whole,
              settings=TranscodeSettings(encode=EncodeSettings(preset="veryfast")))
    # Frame counts, durations, continuous timestamps, keyframes and fragments aligned
    # across qualities, SSIM, size, the same AAC packets, A/V ends within a frame.
    figures = check_indistinguishable(whole, chunked, long_source)
    print(figures)
    # The published rows are those of the files compared.
    assert {a.key for a in stack.assets(job.id)} <= set(stack.media_keys(done))

    # A duplicate delivery after the end changes nothing: the workers find nothing to claim.
    stack.broker.send(WakeUp(reason="duplicate", issued_at="2000-01-01T00:00:00+00:00"))
    wait_for(stack.queue_empty, timeout=30)
    again = stack.job(job.id)
    assert (again.status, again.finished_at) == (done.status, done.finished_at)
    assert len(tasks_of(stack, job.id)) == len(tasks)


def test_a_worker_killed_mid_chunk_costs_that_chunk_only(
        stack: Stack, small_source: Path, spawn: Spawn) -> None:
    job = stack.submit(small_source)
    # A slower preset (the split's, which every chunk then uses): time to kill mid-chunk.
    first = spawn("worker-a", VF_X264_PRESET="slow", **CHUNKING)
    killed = wait_for(lambda: _running_chunk(stack, job.id, "worker-a"), timeout=120)
    os.killpg(first.pid, signal.SIGKILL)  # the machine dies: worker and FFmpeg
    first.wait()
    spawn("worker-b", **CHUNKING)
    wait_for(lambda: _finished(stack, job.id), timeout=300, interval=0.5)

    done = stack.job(job.id)
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert events_of(stack, job.id, EventType.JOB_SUCCEEDED) == 1
    by_id = {t.id: t for t in tasks_of(stack, job.id)}
    assert all(t.status == JobStatus.SUCCEEDED for t in by_id.values())
    # Only the killed chunk ran twice, its second time on the other worker.
    assert by_id[killed.id].attempts == 2 and by_id[killed.id].worker_id == "worker-b"
    assert all(t.attempts == 1 for t in by_id.values() if t.id != killed.id)
    assets = stack.assets(job.id)
    assert len(assets) == len({(a.kind, a.quality) for a in assets}) > 0
    wait_for(lambda: work_keys(stack, job.id) == [], timeout=10)  # after the publish
    wait_for(stack.queue_empty, timeout=30)


def test_cancel_during_chunking_stops_every_chunk(
        stack: Stack, small_source: Path, spawn: Spawn) -> None:
    job = stack.submit(small_source)
    for name in ("worker-a", "worker-b"):
        spawn(name, VF_X264_PRESET="slow", **CHUNKING)
    wait_for(lambda: _running_chunk(stack, job.id), timeout=120)
    with transaction(stack.sessions) as session:
        assert request_cancel(session, job_id=job.id) == CancelOutcome.FLAGGED
    wait_for(lambda: _finished(stack, job.id), timeout=30)

    done = stack.job(job.id)
    assert done.status == JobStatus.CANCELLED
    assert events_of(stack, job.id, EventType.JOB_CANCELLED) == 1
    assert {t.status for t in tasks_of(stack, job.id)} <= {JobStatus.SUCCEEDED,
                                                           JobStatus.CANCELLED}
    wait_for(lambda: not any(t.status == JobStatus.RUNNING
                             for t in tasks_of(stack, job.id)), timeout=10)
    _nothing_left(stack, job.id)
    assert stack.video(job.video_id).status != VideoStatus.READY
    wait_for(stack.queue_empty, timeout=40)


def test_a_poisoned_chunk_fails_the_job_once_with_its_reason(
        stack: Stack, small_source: Path, spawn: Spawn) -> None:
    job = stack.submit(small_source)
    # The split (and the audio) in this process; then chunk 2's part is corrupted.
    assert stack.worker(chunk_threshold_s=10, chunk_length_s=6).step(wait_s=2) \
        == Outcome.SUCCEEDED
    chunk = next(t for t in tasks_of(stack, job.id) if t.spec.get("index") == 1)
    stack.s3.put_object(Bucket=stack.resources.media_bucket,
                        Key=work_prefix(job.id) + "parts/part_0001.nut", Body=b"\0" * 4096)
    for name in ("worker-a", "worker-b"):
        spawn(name, **CHUNKING)
    wait_for(lambda: _finished(stack, job.id), timeout=180, interval=0.5)

    done = stack.job(job.id)
    assert done.status == JobStatus.FAILED
    assert done.error is not None and done.error.startswith("chunk 2 of 3: gave up after 3")
    assert events_of(stack, job.id, EventType.JOB_FAILED) == 1
    assert events_of(stack, job.id, EventType.JOB_SUCCEEDED) == 0
    with stack.sessions() as session:
        poisoned = session.scalars(select(Task).where(Task.id == chunk.id)).one()
    assert poisoned.status == JobStatus.FAILED and poisoned.attempts == 3
    assert poisoned.error  # the fault itself, for ops
    assert (done.instance_seconds or 0) >= poisoned.instance_seconds > 0  # what it cost
    stitch = next(t for t in tasks_of(stack, job.id) if t.kind == TaskKind.STITCH)
    assert stitch.status == JobStatus.CANCELLED and stitch.attempts == 0
    _nothing_left(stack, job.id)
    assert stack.video(job.video_id).status == VideoStatus.FAILED
    wait_for(stack.queue_empty, timeout=40)
