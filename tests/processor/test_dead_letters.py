"""The dead-letter sweep against a real (moto) dead-letter queue and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

import common.logging
from common import aws, job_state
from common.broker import SqsBroker
from common.db import engine_for, session_factory, transaction
from common.error_codes import ErrorCode
from common.job_state import JobStatus
from common.messages import WakeUp
from common.models import GalleryVideo, Job, VideoStatus
from common.settings import CommonSettings
from processor.dead_letters import DEAD_LETTER_REASON, sweep
from processor.housekeeping import Housekeeping
from tests.support.aws_resources import AwsResources
from tests.support.races import before_statement
from tests.support.worker import Stack, worker_settings
from videoforge.cli import main

STALE = timedelta(seconds=30)


@pytest.fixture
def sessions(clean_database: str) -> sessionmaker[Session]:
    return session_factory(clean_database)


@pytest.fixture
def dlq(aws_resources: AwsResources) -> SqsBroker:
    sqs = aws.client("sqs", CommonSettings(aws_endpoint_url=aws_resources.endpoint_url))
    return SqsBroker(sqs, queue_url=aws_resources.dlq_url)


def _dead_job(sessions: sessionmaker[Session], dlq: SqsBroker, *,
              published_job: str | None = None, running_since: timedelta | None = None,
              legacy: bool = False) -> Job:
    """A PROCESSING video with a job whose token is in the dead-letter queue: claimed
    under it (running, its heartbeat ``running_since`` old), or, ``legacy``, QUEUED and
    named by a version-1 letter."""
    with transaction(sessions) as session:
        video = GalleryVideo(owner_id="u1", status=VideoStatus.PROCESSING,
                             source_bucket="b", source_key="k", current_job_id=published_job)
        session.add(video)
        session.flush()
        job = Job(video_id=video.id, owner_id="u1")
        session.add(job)
        session.flush()
    if legacy:
        dlq.sqs.send_message(QueueUrl=dlq.queue_url, MessageBody=json.dumps(
            {"version": 1, "job_id": job.id, "video_id": video.id, "source_bucket": "b",
             "source_key": "k"}))
        return job
    token_id = dlq.send(WakeUp())
    with transaction(sessions) as session:
        assert job_state.claim(session, job_id=job.id, worker_id="w", stale_after=STALE,
                               token_id=token_id)
        session.get(Job, job.id).heartbeat_at = (  # type: ignore[union-attr]
            datetime.now(UTC) - (running_since or timedelta(minutes=5)))
    return job


def _status(sessions: sessionmaker[Session], job: Job) -> tuple[JobStatus, VideoStatus]:
    with sessions() as session:
        row, video = session.get(Job, job.id), session.get(GalleryVideo, job.video_id)
        assert row is not None and video is not None
        return row.status, video.status


def test_dead_lettered_jobs_are_failed_and_their_messages_kept(
        sessions: sessionmaker[Session], dlq: SqsBroker) -> None:
    dead = _dead_job(sessions, dlq)
    rerun = _dead_job(sessions, dlq, published_job="an-earlier-job")
    legacy = _dead_job(sessions, dlq, legacy=True)
    dlq.sqs.send_message(QueueUrl=dlq.queue_url, MessageBody="not a job message")

    assert sweep(dlq, sessions, stale_after=STALE) == 3

    assert _status(sessions, dead) == (JobStatus.FAILED, VideoStatus.FAILED)
    # An earlier job's assets are still published: the video stays playable.
    assert _status(sessions, rerun) == (JobStatus.FAILED, VideoStatus.READY)
    assert _status(sessions, legacy) == (JobStatus.FAILED, VideoStatus.FAILED)
    with sessions() as session:
        failed = session.get(Job, dead.id)
        assert failed is not None and failed.error == DEAD_LETTER_REASON
        assert failed.error_code == ErrorCode.DEAD_LETTERED
    assert dlq.counts().visible == 4  # kept for ops, visible again
    assert sweep(dlq, sessions, stale_after=STALE) == 0  # nothing changes twice


def test_a_job_still_beating_is_left_alone(sessions: sessionmaker[Session],
                                           dlq: SqsBroker) -> None:
    alive = _dead_job(sessions, dlq, running_since=timedelta(seconds=1))
    dead = _dead_job(sessions, dlq, running_since=timedelta(minutes=5))

    assert sweep(dlq, sessions, stale_after=STALE) == 1

    assert _status(sessions, alive)[0] == JobStatus.RUNNING
    assert _status(sessions, dead)[0] == JobStatus.FAILED


def test_the_sweep_never_fails_a_job_taken_over_meanwhile(
        sessions: sessionmaker[Session], dlq: SqsBroker, clean_database: str) -> None:
    """The job looks dead when the sweep reads it; a worker takes it over before the
    sweep acts. The new owner is alive: its job must not fail under it."""
    job = _dead_job(sessions, dlq, running_since=timedelta(minutes=5))

    def another_worker_takes_over() -> None:
        with transaction(sessions) as session:
            assert job_state.claim(session, job_id=job.id, worker_id="w2", stale_after=STALE)

    with before_statement(engine_for(clean_database), "UPDATE jobs",
                          another_worker_takes_over) as fired:
        assert sweep(dlq, sessions, stale_after=STALE) == 0
    assert fired, "the race did not happen"
    with sessions() as session:
        row = session.get(Job, job.id)
        assert row is not None and (row.status, row.worker_id) == (JobStatus.RUNNING, "w2")


def test_housekeeping_runs_at_most_once_per_interval(sessions: sessionmaker[Session],
                                                    dlq: SqsBroker) -> None:
    chores = Housekeeping({"sweep": lambda: sweep(dlq, sessions, stale_after=STALE)},
                          interval_s=3600)
    assert chores.maybe_run() == {"sweep": 0}
    _dead_job(sessions, dlq)
    assert chores.maybe_run() == {}  # not due yet
    assert Housekeeping({"sweep": lambda: 1}, interval_s=0).maybe_run() == {}  # off


def test_an_idle_worker_sweeps_the_dead_letter_queue(
        sessions: sessionmaker[Session], dlq: SqsBroker, aws_resources: AwsResources,
        clean_database: str) -> None:
    job = _dead_job(sessions, dlq)
    stack = Stack(worker_settings(aws_resources, clean_database), aws_resources)
    worker = stack.worker()
    worker.housekeeping = Housekeeping(
        {"sweep": lambda: sweep(dlq, sessions, stale_after=STALE)}, interval_s=60)

    assert worker.step(wait_s=0) is None  # nothing to do but housekeeping

    assert _status(sessions, job)[0] == JobStatus.FAILED


@pytest.fixture
def command_env(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Run ``videoforge`` commands in this process against the test's parts."""
    for name, value in settings_env.items():
        monkeypatch.setenv(name, value)
    # Keep this process's logging as the tests set it (the command would bind stderr).
    monkeypatch.setattr(common.logging, "_configured", True)


def test_the_sweep_command(sessions: sessionmaker[Session], dlq: SqsBroker, command_env: None,
                          capsys: pytest.CaptureFixture[str]) -> None:
    job = _dead_job(sessions, dlq)

    assert main(["worker", "--sweep-dlq"]) == 0

    assert "1 dead-lettered job(s) marked FAILED" in capsys.readouterr().out
    assert _status(sessions, job)[0] == JobStatus.FAILED


def test_the_sweep_command_without_a_dead_letter_queue(
        command_env: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VF_DEAD_LETTER_QUEUE_NAME", "no-such-dlq")

    assert main(["worker", "--sweep-dlq"]) == 1
    assert "no dead-letter queue named 'no-such-dlq'" in capsys.readouterr().out
