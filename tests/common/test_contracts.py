"""The shared contracts: schema, job state machine, message format, storage keys, CLI."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from common import job_state
from common.job_state import JobStatus
from common.messages import JobMessage, MalformedMessage
from common.models import GalleryVideo, Job
from common.storage import media_key, upload_key


def _job(session) -> Job:
    video = GalleryVideo(owner_id="u1", title="t")
    session.add(video)
    session.flush()
    job = Job(video_id=video.id, owner_id="u1")
    session.add(job)
    session.flush()
    return job


def test_two_workers_never_both_claim(db_session) -> None:
    job = _job(db_session)
    stale = timedelta(minutes=5)
    assert job_state.claim(db_session, job_id=job.id, worker_id="w1", stale_after=stale)
    assert not job_state.claim(db_session, job_id=job.id, worker_id="w2", stale_after=stale)


def test_stale_running_job_is_taken_over(db_session) -> None:
    job = _job(db_session)
    assert job_state.claim(db_session, job_id=job.id, worker_id="w1", stale_after=timedelta(0))
    # A zero staleness window means w1's heartbeat is already too old.
    assert job_state.claim(db_session, job_id=job.id, worker_id="w2",
                           stale_after=timedelta(seconds=-1))
    assert not job_state.heartbeat(db_session, job_id=job.id, worker_id="w1").owned


def test_finished_job_cannot_be_claimed_again(db_session) -> None:
    job = _job(db_session)
    job_state.claim(db_session, job_id=job.id, worker_id="w1", stale_after=timedelta(minutes=5))
    assert job_state.succeed(db_session, job_id=job.id, worker_id="w1")
    assert not job_state.claim(db_session, job_id=job.id, worker_id="w2",
                               stale_after=timedelta(seconds=-1))
    status = db_session.execute(select(Job.status).where(Job.id == job.id)).scalar()
    assert status == JobStatus.SUCCEEDED


def test_cancel_queued_and_running(db_session) -> None:
    queued, running = _job(db_session), _job(db_session)
    job_state.claim(db_session, job_id=running.id, worker_id="w", stale_after=timedelta(minutes=5))
    assert job_state.request_cancel(db_session, job_id=queued.id) == JobStatus.CANCELLED
    assert not job_state.claim(db_session, job_id=queued.id, worker_id="w",
                               stale_after=timedelta(minutes=5))
    assert job_state.request_cancel(db_session, job_id=running.id) == JobStatus.CANCELLED
    assert job_state.heartbeat(db_session, job_id=running.id, worker_id="w").cancel_requested
    assert not job_state.succeed(db_session, job_id=running.id, worker_id="w")
    assert job_state.mark_cancelled(db_session, job_id=running.id, worker_id="w")
    assert job_state.request_cancel(db_session, job_id="nope") is None


def test_release_returns_job_to_queue(db_session) -> None:
    job = _job(db_session)
    job_state.claim(db_session, job_id=job.id, worker_id="w1", stale_after=timedelta(minutes=5))
    assert not job_state.release(db_session, job_id=job.id, worker_id="w2")
    assert job_state.release(db_session, job_id=job.id, worker_id="w1")
    assert job_state.claim(db_session, job_id=job.id, worker_id="w2",
                           stale_after=timedelta(minutes=5))


def test_transition_table_is_closed() -> None:
    for status in JobStatus:
        assert status.is_terminal == (not job_state.ALLOWED[status])


def test_message_round_trip_and_rejects_garbage() -> None:
    msg = JobMessage(job_id="j", video_id="v", source_bucket="b", source_key="k",
                     qualities=["720p"])
    assert JobMessage.decode(msg.encode()) == msg
    for body in ["", "[]", "{}", '{"version": 1}', '{"version": 99, "job_id": "j"}',
                 msg.encode().replace('"qualities":["720p"]', '"qualities":"720p"')]:
        with pytest.raises(MalformedMessage):
            JobMessage.decode(body)


def test_storage_keys_are_deterministic_and_safe() -> None:
    assert upload_key(user_id="u", video_id="v", filename="../../etc/passwd") == \
        "uploads/u/v/passwd"
    assert media_key(video_id="v", job_id="j", relpath="hls/master.m3u8") == \
        "videos/v/j/hls/master.m3u8"


def test_cli_lists_commands_and_rejects_unknown() -> None:
    ok = subprocess.run([sys.executable, "-m", "videoforge", "--help"],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "transcode" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "videoforge", "frobnicate"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown command" in bad.stderr


def test_sqlite_migrates(tmp_path) -> None:
    from common.db import migrate

    migrate(f"sqlite:///{tmp_path / 'vf.db'}")


def test_is_stale_matches_what_claim_takes_over(db_session) -> None:
    job = _job(db_session)
    assert job_state.is_stale(job, timedelta(minutes=5))  # never beaten
    job_state.claim(db_session, job_id=job.id, worker_id="w1", stale_after=timedelta(minutes=5))
    db_session.refresh(job)
    assert not job_state.is_stale(job, timedelta(minutes=5))
    assert job_state.is_stale(job, timedelta(seconds=-1))
