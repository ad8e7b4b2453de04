"""The worker in this process against the real parts: moto S3/SQS (with a redrive policy),
PostgreSQL and ffmpeg on clips made here."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from common import job_state
from common.broker import InMemoryBroker, QueueCounts
from common.db import engine_for, transaction
from common.error_codes import ErrorCode
from common.job_state import JobStatus
from common.messages import WakeUp
from common.models import AssetKind, Event, GalleryVideo, Job, VideoStatus
from common.storage import media_prefix
from common.submission import submit_job
from processor.job_runner import JobRunner, Outcome
from processor.wakeups import reconcile
from processor.worker import Worker
from tests.support.clips import BAD_INPUTS
from tests.support.races import before_statement
from tests.support.worker import VISIBILITY_S, Stack, wait_for

Clip = Callable[[str], Path]


def _metric(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_a_job_is_transcoded_and_published(stack: Stack, clip: Clip) -> None:
    succeeded = _metric("videoforge_jobs_total", {"outcome": "succeeded"})
    waits = _metric("videoforge_queue_wait_seconds_count")
    job = stack.submit(clip("small"))

    assert stack.worker().step() == Outcome.SUCCEEDED

    done = stack.job(job.id)
    assert done.status == JobStatus.SUCCEEDED and done.progress == 1.0 and done.attempts == 1
    assert done.instance_seconds and done.instance_seconds > 0
    assert done.source_duration_s == pytest.approx(1.0, abs=0.1)
    assert done.encode_speed and done.encode_speed > 0
    video = stack.video(job.video_id)
    assert video.status == VideoStatus.READY and video.current_job_id == job.id
    assert (video.width, video.height) == (160, 120)
    # Every asset row names an object under the job's deterministic prefix, and vice versa
    # for everything but HLS segments (a rendition's row stands for its playlist).
    assets = stack.assets(job.id)
    keys = stack.media_keys(done)
    prefix = media_prefix(video_id=job.video_id, job_id=job.id)
    assert {a.key for a in assets} <= set(keys)
    assert all(k.startswith(prefix) for k in keys)
    kinds = {a.kind for a in assets}
    assert kinds == set(AssetKind)
    assert prefix + "manifest.json" in keys and prefix + "hls/master.m3u8" in keys
    manifest = json.loads(stack.s3.get_object(Bucket=stack.resources.media_bucket,
                                              Key=prefix + "manifest.json")["Body"].read())
    assert len(manifest["assets"]) == len(assets)
    assert stack.queue_empty()
    with stack.sessions() as session:  # the outbox got what the transitions did
        recorded = list(session.scalars(select(Event.type).where(
            Event.subject_id.in_([job.id, job.video_id])).order_by(Event.created_at)))
    renditions = ["rendition.ready"] * sum(a.kind == AssetKind.MP4 for a in assets)
    assert recorded == ["job.queued", "job.succeeded", *renditions, "video.ready"]
    assert _metric("videoforge_jobs_total", {"outcome": "succeeded"}) == succeeded + 1
    assert _metric("videoforge_queue_wait_seconds_count") == waits + 1
    assert _metric("videoforge_jobs_in_flight") == 0


def test_a_fault_after_the_publish_is_logged_not_retried(stack: Stack, clip: Clip) -> None:
    """The queue goes while the publish commits: deleting the token fails after the job is
    SUCCEEDED. That used to be taken for a failed attempt (a retry token, outcome
    retrying) for a job that was done."""
    job = stack.submit(clip("small"))
    worker = stack.worker()

    def queue_goes() -> None:
        stack.sqs.delete_queue(QueueUrl=stack.resources.queue_url)

    with before_statement(engine_for(stack.settings.database_url),
                          "INSERT INTO media_assets", queue_goes) as fired:
        assert worker.step() == Outcome.SUCCEEDED
    assert fired
    done = stack.job(job.id)
    assert done.status == JobStatus.SUCCEEDED and done.attempts == 1
    assert stack.video(job.video_id).status == VideoStatus.READY


def test_a_token_with_nothing_to_claim_changes_nothing(stack: Stack, clip: Clip) -> None:
    """A duplicate delivery, or a token left after a cancel: deleted, nothing changes."""
    job = stack.submit(clip("small"))
    worker = stack.worker()
    assert worker.step() == Outcome.SUCCEEDED
    before, assets = stack.job(job.id), stack.asset_count()
    stack.broker.send(WakeUp(issued_at=_ago(60)))

    assert worker.step() == Outcome.IDLE

    after = stack.job(job.id)
    assert (after.status, after.attempts, after.updated_at) == (
        before.status, before.attempts, before.updated_at)
    assert stack.asset_count() == assets
    assert stack.queue_empty()


def _ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


@pytest.mark.parametrize("kind", ["no_audio", "odd_size", "rotated"])
def test_odd_inputs_are_published(stack: Stack, clip: Clip, kind: str) -> None:
    job = stack.submit(clip(kind))
    assert stack.worker().step() == Outcome.SUCCEEDED
    video = stack.video(job.video_id)
    assert video.status == VideoStatus.READY
    if kind == "rotated":
        assert video.height > video.width  # turned upright
    mp4s = [a for a in stack.assets(job.id) if a.kind == AssetKind.MP4]
    assert mp4s and all(a.width % 2 == 0 and a.height % 2 == 0 for a in mp4s)


@pytest.mark.parametrize("kind", ["text", "audio_only", "empty"])
def test_bad_input_fails_the_job_once_with_its_reason(
        stack: Stack, clip: Clip, kind: str) -> None:
    failed = _metric("videoforge_jobs_total", {"outcome": "failed"})
    job = stack.submit(clip(kind))

    assert stack.worker().step() == Outcome.FAILED

    done = stack.job(job.id)
    assert done.status == JobStatus.FAILED and BAD_INPUTS[kind] in (done.error or "")
    assert done.error_code not in {None, ErrorCode.RETRIES_EXHAUSTED, ErrorCode.DEAD_LETTERED,
                                   ErrorCode.INTERNAL}  # the input's fault, named
    assert stack.video(job.video_id).status == VideoStatus.FAILED
    assert stack.assets(job.id) == [] and stack.media_keys(done) == []
    assert stack.queue_empty()  # deleted, not retried
    assert stack.worker().step(wait_s=0) is None
    assert _metric("videoforge_jobs_total", {"outcome": "failed"}) == failed + 1


def test_a_job_that_keeps_failing_is_failed_and_dead_lettered(stack: Stack,
                                                             clip: Clip) -> None:
    job = stack.submit(clip("small"))
    video = stack.video(job.video_id)
    # A real fault: the source object is gone (the uploads bucket's lifecycle, say).
    stack.s3.delete_object(Bucket=video.source_bucket, Key=video.source_key)
    worker = stack.worker()
    outcomes = []
    for _ in range(3):  # the queue's maxReceiveCount
        outcomes.append(wait_for(lambda: worker.step(wait_s=1), timeout=15))
        if outcomes[-1] == Outcome.RETRYING:
            assert stack.job(job.id).status == JobStatus.QUEUED  # released between attempts

    assert outcomes == [Outcome.RETRYING, Outcome.RETRYING, Outcome.FAILED]
    done = stack.job(job.id)
    assert done.status == JobStatus.FAILED and done.attempts == 3
    assert "gave up after 3 attempts" in (done.error or "")
    assert done.error_code == ErrorCode.RETRIES_EXHAUSTED
    assert "NoSuchKey" not in (done.error or "") and "404" not in (done.error or "")
    assert stack.video(job.video_id).status == VideoStatus.FAILED
    # The job's failure is the database's record; its token is gone, not dead-lettered
    # (each retry had a fresh one, so SQS counted no receive twice).
    assert worker.step(wait_s=0) is None
    assert stack.queue_empty() and stack.dlq.counts().visible == 0


def _run_in_thread(stack: Stack, **overrides: object) -> tuple[threading.Thread, list[Outcome]]:
    worker = stack.worker(**overrides)
    outcomes: list[Outcome] = []
    thread = threading.Thread(target=lambda: outcomes.append(worker.step()))
    thread.start()
    thread.worker = worker  # type: ignore[attr-defined]
    return thread, outcomes


def _running_with_progress(stack: Stack, job_id: str) -> bool:
    job = stack.job(job_id)
    return job.status == JobStatus.RUNNING and job.progress > 0


def test_a_long_job_is_kept_invisible_and_cancel_stops_it(
        stack: Stack, long_clip: Path) -> None:
    job = stack.submit(long_clip)
    thread, outcomes = _run_in_thread(stack, x264_preset="placebo")
    wait_for(lambda: _running_with_progress(stack, job.id))
    # The heartbeat keeps extending the message: no other worker gets it meanwhile.
    assert stack.worker().step(wait_s=VISIBILITY_S + 1) is None
    assert thread.is_alive()

    with transaction(stack.sessions) as session:
        job_state.request_cancel(session, job_id=job.id)
    thread.join(timeout=30)

    assert outcomes == [Outcome.CANCELLED]
    done = stack.job(job.id)
    assert done.status == JobStatus.CANCELLED and 0 < done.progress < 1
    assert stack.assets(job.id) == [] and stack.media_keys(done) == []
    assert stack.video(job.video_id).status == VideoStatus.UPLOADED
    assert stack.queue_empty()


def test_shutdown_past_the_drain_deadline_releases_the_job(
        stack: Stack, long_clip: Path) -> None:
    job = stack.submit(long_clip)
    thread, outcomes = _run_in_thread(stack, x264_preset="placebo", drain_timeout_s=0.2)
    wait_for(lambda: _running_with_progress(stack, job.id))

    thread.worker.request_shutdown()  # type: ignore[attr-defined]
    thread.join(timeout=30)

    assert outcomes == [Outcome.RELEASED]
    released = stack.job(job.id)
    assert released.status == JobStatus.QUEUED and released.worker_id is None
    assert stack.assets(job.id) == []
    again = stack.broker.receive(wait_s=1)  # a fresh token, visible at once
    assert again is not None and again.token().reason == "released"
    assert again.receive_count == 1


def test_tokens_that_find_no_work(stack: Stack) -> None:
    worker = stack.worker()
    stack.sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody="{not json")
    assert worker.step(wait_s=1) == Outcome.DROPPED
    # A young token may have beaten its job's commit: it comes back shortly...
    stack.broker.send(WakeUp())
    assert worker.step(wait_s=1) == Outcome.DEFERRED
    assert stack.broker.counts().in_flight == 1
    # ... while an old one with nothing to claim is surplus, and deleted.
    stack.broker.send(WakeUp(issued_at=_ago(60)))
    assert worker.step(wait_s=1) == Outcome.IDLE
    counts = stack.broker.counts()
    assert (counts.visible, counts.in_flight) == (0, 1)


def test_an_idle_worker_stops_at_once_on_sigterm(stack: Stack) -> None:
    worker = stack.worker(poll_wait_s=20)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    worker.install_signal_handlers()
    try:
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
        started = time.monotonic()
        assert worker.run() == 0
        assert time.monotonic() - started < 10  # the 20 s long poll was cut short
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_a_job_running_elsewhere_is_left_to_its_owner_unless_abandoned(
        stack: Stack, clip: Clip) -> None:
    job = stack.submit(clip("small"))
    with transaction(stack.sessions) as session:  # another worker holds it, alive
        assert job_state.claim(session, job_id=job.id, worker_id="other",
                               stale_after=stack.settings.stale_after())
    stack.broker.send(WakeUp(issued_at=_ago(60)))  # a duplicate: nothing else to claim

    assert {stack.worker().step(wait_s=1), stack.worker().step(wait_s=1)} == {
        Outcome.DEFERRED, Outcome.IDLE}
    assert stack.job(job.id).worker_id == "other"

    # The owner dies after the job was cancelled: the next claim finishes the cancel.
    with transaction(stack.sessions) as session:
        job_state.request_cancel(session, job_id=job.id)
        session.get(Job, job.id).heartbeat_at = datetime.now(UTC) - timedelta(minutes=5)
    stack.broker.send(WakeUp(issued_at=_ago(60)))
    assert stack.worker().step(wait_s=1) == Outcome.IDLE
    assert stack.job(job.id).status == JobStatus.CANCELLED
    assert stack.video(job.video_id).status == VideoStatus.UPLOADED


def test_without_a_redrive_policy_a_job_fails_after_max_attempts(stack: Stack,
                                                                 clip: Clip) -> None:
    queue = InMemoryBroker(visibility_timeout_s=30)  # no dead-letter queue behind it
    job = stack.submit(clip("small"))  # its token goes to SQS; this test sends another
    video = stack.video(job.video_id)
    stack.s3.delete_object(Bucket=video.source_bucket, Key=video.source_key)
    queue.send(WakeUp())
    settings = stack.settings.model_copy(update={"max_attempts": 2, "retry_backoff_s": 0})
    worker = Worker(settings, broker=queue, runner=JobRunner(
        settings, broker=queue, sessions=stack.sessions, s3=stack.s3))

    assert [worker.step(wait_s=0), worker.step(wait_s=0)] == [Outcome.RETRYING, Outcome.FAILED]
    assert stack.job(job.id).status == JobStatus.FAILED
    assert queue.counts() == QueueCounts(0, 0, 0)  # nobody keeps it: deleted


def test_a_job_released_after_a_cancel_request_ends_cancelled(stack: Stack,
                                                             clip: Clip) -> None:
    job = stack.submit(clip("small"))
    with transaction(stack.sessions) as session:  # cancelled as its worker shut down
        job_state.claim(session, job_id=job.id, worker_id="other",
                        stale_after=stack.settings.stale_after())
        job_state.request_cancel(session, job_id=job.id)
        job_state.release(session, job_id=job.id, worker_id="other")

    # The claim ends it first; the token then finds nothing (young: it looks again).
    assert stack.worker().step(wait_s=1) == Outcome.DEFERRED
    assert stack.job(job.id).status == JobStatus.CANCELLED


def test_a_queued_job_whose_token_was_lost_gets_a_new_one(stack: Stack, clip: Clip) -> None:
    """SQS dropped the token (retention) or it was dead-lettered: reconciliation resends."""
    job = stack.submit(clip("small"))
    lost = stack.broker.receive(wait_s=1)
    assert lost is not None
    stack.broker.delete(lost)
    assert stack.worker().step(wait_s=1) is None  # nothing wakes a worker now

    assert reconcile(stack.broker, stack.sessions) == 1
    assert reconcile(stack.broker, stack.sessions) == 0  # counted: nothing more is missing
    assert stack.worker().step(wait_s=1) == Outcome.SUCCEEDED
    assert stack.job(job.id).status == JobStatus.SUCCEEDED and stack.queue_empty()


def test_a_running_jobs_stand_in_token_is_kept_until_it_can_be_taken_over(
        stack: Stack, clip: Clip) -> None:
    """After a restart (``videoforge up``) the queue is empty and a RUNNING job's worker
    is gone; reconciliation sends its token at once, while the job's heartbeat is still
    fresh. That token found nothing to claim and was deleted as surplus: nothing would
    ever wake a worker for the job again. It now comes back once the job is stale."""
    stack = Stack(stack.settings.model_copy(update={"stale_after_s": 6.0}), stack.resources)
    job = stack.submit(clip("small"))
    with transaction(stack.sessions) as session:  # its worker dies with the last run
        assert job_state.claim(session, job_id=job.id, worker_id="gone",
                               stale_after=stack.settings.stale_after())
    old = stack.broker.receive(wait_s=1)
    assert old is not None
    stack.broker.delete(old)  # the queue starts empty
    issued = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()  # past its grace
    stack.broker.send(WakeUp(reason="reconciled", issued_at=issued))
    worker = stack.worker()

    assert worker.step(wait_s=1) == Outcome.DEFERRED  # not surplus: the job needs it
    assert stack.job(job.id).status == JobStatus.RUNNING and not stack.queue_empty()
    assert wait_for(lambda: worker.step(wait_s=1), timeout=30) == Outcome.SUCCEEDED
    assert stack.job(job.id).attempts == 2 and stack.queue_empty()


def test_a_failed_job_leaves_no_partial_upload(stack: Stack, clip: Clip) -> None:
    job = stack.submit(clip("small"))
    video = stack.video(job.video_id)
    # An earlier attempt got part of the way through its upload, then the source went.
    partial = media_prefix(video_id=job.video_id, job_id=job.id) + "480p.mp4"
    stack.s3.put_object(Bucket=stack.resources.media_bucket, Key=partial, Body=b"half")
    stack.s3.delete_object(Bucket=video.source_bucket, Key=video.source_key)
    worker = stack.worker(max_attempts=1)
    queue = InMemoryBroker()
    queue.send(WakeUp())
    runner = JobRunner(worker.settings, broker=queue, sessions=stack.sessions, s3=stack.s3)
    assert runner.process(queue.receive()) == Outcome.FAILED  # type: ignore[arg-type]
    assert stack.media_keys(stack.job(job.id)) == []


def test_a_re_transcode_removes_the_previous_jobs_outputs(stack: Stack, clip: Clip) -> None:
    first = stack.submit(clip("small"))
    worker = stack.worker()
    assert worker.step() == Outcome.SUCCEEDED
    assert stack.media_keys(first)
    with stack.sessions() as session:
        video = session.get(GalleryVideo, first.video_id)
        second = submit_job(session, stack.broker, video=video, owner_id="u1",
                            qualities=["480p"]).job

    assert worker.step() == Outcome.SUCCEEDED

    assert stack.video(first.video_id).current_job_id == second.id
    assert stack.media_keys(first) == [] and stack.assets(first.id) == []
    assert stack.media_keys(stack.job(second.id)) and stack.assets(second.id)
