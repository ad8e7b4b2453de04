"""The shared contracts: schema, job state machine, message format, storage keys, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from common import job_state, video_state
from common.error_codes import ErrorCode
from common.job_state import CancelOutcome, JobStatus, SourceFacts
from common.messages import MalformedMessage, WakeUp
from common.models import Event, GalleryVideo, Job
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
    assert job_state.request_cancel(db_session, job_id=queued.id) == CancelOutcome.CANCELLED
    assert not job_state.claim(db_session, job_id=queued.id, worker_id="w",
                               stale_after=timedelta(minutes=5))
    assert job_state.request_cancel(db_session, job_id=running.id) == CancelOutcome.FLAGGED
    assert job_state.heartbeat(db_session, job_id=running.id, worker_id="w").cancel_requested
    assert not job_state.succeed(db_session, job_id=running.id, worker_id="w")
    assert job_state.mark_cancelled(db_session, job_id=running.id, worker_id="w")
    assert job_state.request_cancel(db_session, job_id=running.id) == CancelOutcome.FINISHED
    assert job_state.request_cancel(db_session, job_id="nope") == CancelOutcome.NOT_FOUND


def test_release_returns_job_to_queue(db_session) -> None:
    job = _job(db_session)
    job_state.claim(db_session, job_id=job.id, worker_id="w1", stale_after=timedelta(minutes=5))
    assert not job_state.release(db_session, job_id=job.id, worker_id="w2")
    assert job_state.release(db_session, job_id=job.id, worker_id="w1")
    assert job_state.claim(db_session, job_id=job.id, worker_id="w2",
                           stale_after=timedelta(minutes=5))


def test_a_token_round_trips_names_no_job_and_garbage_is_refused() -> None:
    token = WakeUp(reason="retry")
    assert WakeUp.decode(token.encode()) == token
    assert set(json.loads(token.encode())) == {"version", "reason", "issued_at"}
    assert token.resent("released").issued_at == token.issued_at  # its origin is kept
    # A version-1 body (it named a job and its source) is read as a plain token.
    legacy = WakeUp.decode('{"version": 1, "job_id": "j", "video_id": "v", '
                           '"source_bucket": "b", "source_key": "k"}')
    assert legacy.legacy_job_id == "j" and legacy.version == 1
    for body in ["", "[]", "{}", '{"version": 1}', '{"version": 99}', '{"version": 2}',
                 '{"version": 2, "reason": 1, "issued_at": "x"}']:
        with pytest.raises(MalformedMessage):
            WakeUp.decode(body)


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


def test_one_staleness_rule_for_claims_sweeps_and_abandoned_cancels(db_session) -> None:
    alive, dead = _job(db_session), _job(db_session)
    for job in (alive, dead):
        job_state.claim(db_session, job_id=job.id, worker_id="w1",
                        stale_after=timedelta(minutes=5))
    db_session.execute(update(Job).where(Job.id == dead.id)
                       .values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=10)))
    stale = select(Job.id).where(job_state.abandoned(timedelta(minutes=5)))
    assert set(db_session.scalars(stale)) == {dead.id}
    for job in (alive, dead):
        job_state.request_cancel(db_session, job_id=job.id)
    # The live owner finishes its own cancel; the dead one's is finished by whoever finds it.
    assert not job_state.cancel_abandoned(db_session, job_id=alive.id,
                                          stale_after=timedelta(minutes=5))
    assert job_state.cancel_abandoned(db_session, job_id=dead.id,
                                      stale_after=timedelta(minutes=5))


@pytest.fixture(params=["postgresql", "sqlite"])
def any_db(request, clean_database, tmp_path):
    """A migrated database of each kind we run on (PostgreSQL emptied afterwards)."""
    from common.db import migrate, session_factory

    url = clean_database if request.param == "postgresql" else f"sqlite:///{tmp_path / 'vf.db'}"
    if request.param == "sqlite":
        migrate(url)
    return session_factory(url)


def test_every_transition_runs_on_both_databases(any_db) -> None:
    from common.db import transaction
    from common.models import VideoStatus

    with transaction(any_db) as s:
        video = GalleryVideo(owner_id="u1", status=VideoStatus.UPLOADING, source_bucket="b",
                             source_key="k")
        s.add(video)
        s.flush()
        assert video_state.confirm_upload(s, video_id=video.id)
        assert video.status == VideoStatus.UPLOADED  # the held object follows the row
        first, second = Job(video_id=video.id, owner_id="u1"), Job(video_id=video.id,
                                                                   owner_id="u1")
        assert job_state.enqueue(s, job=first) and video.status == VideoStatus.PROCESSING
    with pytest.raises(IntegrityError), transaction(any_db) as s:  # one active job per video
        s.execute(update(GalleryVideo).values(status=VideoStatus.UPLOADED))
        job_state.enqueue(s, job=second)
    stale = timedelta(minutes=5)
    with transaction(any_db) as s:
        assert job_state.claim(s, job_id=first.id, worker_id="w", stale_after=stale)
        assert job_state.fail(s, job_id=first.id, worker_id="w", reason="r",
                              code=ErrorCode.CORRUPT)
        assert s.get(GalleryVideo, video.id).status == VideoStatus.FAILED  # the CASE
        again = Job(video_id=video.id, owner_id="u1")
        assert job_state.enqueue(s, job=again)
        assert job_state.claim(s, job_id=again.id, worker_id="w", stale_after=stale)
        assert job_state.succeed(s, job_id=again.id, worker_id="w",
                                 source=SourceFacts(duration_s=2.0, width=64, height=36))
        last = Job(video_id=video.id, owner_id="u1")
        assert job_state.enqueue(s, job=last)
        assert job_state.request_cancel(s, job_id=last.id) == CancelOutcome.CANCELLED
        done = s.get(GalleryVideo, video.id, populate_existing=True)
        assert (done.status, done.current_job_id, done.width) == (VideoStatus.READY, again.id, 64)
        assert not job_state.fail_dead_lettered(s, job_id=again.id, reason="r",
                                                stale_after=stale)
    with any_db() as s:  # each transition wrote its events, the refused insert none
        def types(subject: str) -> list[str]:
            rows = s.execute(select(Event.type).where(Event.subject_id == subject)
                             .order_by(Event.created_at))
            return list(rows.scalars())

        assert types(first.id) == ["job.queued", "job.failed"]
        assert types(second.id) == []
        assert types(again.id) == ["job.queued", "job.succeeded"]
        assert types(last.id) == ["job.queued", "job.cancelled"]
        assert types(video.id) == ["video.ready"]  # no MP4 assets: no rendition.ready
