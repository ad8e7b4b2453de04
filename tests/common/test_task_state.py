"""Chunked jobs' tasks on PostgreSQL and SQLite: the split, claims in the scheduler's
order (one share per job), heartbeats that carry the job, takeovers, and a job that ends
once, however its tasks end."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from common import job_state, task_state
from common.db import engine_for, migrate, session_factory, transaction
from common.error_codes import ErrorCode
from common.models import Base, Event, GalleryVideo, Job, JobStatus, Task, TaskKind, VideoStatus
from common.task_state import NewTask

STALE = timedelta(minutes=5)
T0 = datetime(2030, 1, 1, tzinfo=UTC)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)  # a heartbeat this old is stale
_ticks = itertools.count()


@pytest.fixture(params=["postgresql", "sqlite"])
def sessions(request, clean_database: str, tmp_path) -> sessionmaker[Session]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vf.db'}"
        migrate(url)
        return session_factory(url)
    return session_factory(clean_database)


def _job(session: Session, owner: str) -> str:
    video = GalleryVideo(owner_id=owner, status=VideoStatus.PROCESSING, source_bucket="b",
                         source_key=f"uploads/{owner}/k")
    session.add(video)
    session.flush()
    job = Job(video_id=video.id, owner_id=owner, created_at=T0 + timedelta(seconds=next(_ticks)))
    session.add(job)
    session.flush()
    return job.id


def _plan(chunks: int) -> list[NewTask]:
    return [NewTask(TaskKind.AUDIO, 0, estimated_work_s=1.0),
            *(NewTask(TaskKind.CHUNK, 1 + i, {"index": i}, estimated_work_s=10.0)
              for i in range(chunks)),
            NewTask(TaskKind.STITCH, chunks + 1, estimated_work_s=1.0)]


def _chunked(session: Session, owner: str, chunks: int = 3, worker: str = "splitter") -> str:
    job_id = _job(session, owner)
    assert job_state.claim(session, job_id=job_id, worker_id=worker, stale_after=STALE)
    assert task_state.split(session, job_id=job_id, worker_id=worker, tasks=_plan(chunks))
    return job_id


def _claim(session: Session, worker: str = "w") -> job_state.Claimed | None:
    return job_state.claim_next(session, worker_id=worker, stale_after=STALE)


def _kinds(session: Session, job_id: str) -> dict[int, JobStatus]:
    rows = session.execute(select(Task.seq, Task.status).where(Task.job_id == job_id)).all()
    return {seq: status for seq, status in rows}


def test_tasks_table_matches_the_model(sessions) -> None:
    with engine_for(str(sessions.kw["bind"].url)).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert not [d for d in diff if "tasks" in repr(d) or "chunked" in repr(d)], diff


def test_a_split_job_is_claimed_through_its_tasks_in_order(sessions) -> None:
    with transaction(sessions) as s:
        job_id = _chunked(s, "a", chunks=2)
        job = s.get(Job, job_id)
        assert job is not None and job.chunked and job.worker_id is None
        assert job.status == JobStatus.RUNNING and job.estimated_work_s == 22.0
        claims = [_claim(s, f"w{i}") for i in range(4)]
        # audio, then the chunks in order; the stitch waits for them; never the job itself.
        assert [c.task.kind if c and c.task else None for c in claims] == [
            TaskKind.AUDIO, TaskKind.CHUNK, TaskKind.CHUNK, None]
        assert all(c.job_id == job_id and c.source_key == "uploads/a/k"
                   for c in claims if c)
        for i, claim in enumerate(claims[:3]):
            assert claim and claim.task
            assert task_state.succeed(s, task_id=claim.task.task_id, worker_id=f"w{i}")
        assert task_state.stitch_ready(s, job_id=job_id)
        stitch = _claim(s, "w9")
        assert stitch and stitch.task and stitch.task.kind == TaskKind.STITCH
        assert stitch.task.chunks == 2
        assert _claim(s) is None


def test_all_tasks_of_a_job_are_one_share(sessions) -> None:
    with transaction(sessions) as s:
        a = _chunked(s, "a", chunks=4)
        b1, b2 = _job(s, "b"), _job(s, "b")

        def claims(n: int) -> list[str | None]:
            return [c.job_id if (c := _claim(s, f"w{i}")) else None for i in range(n)]

        # The split served a (its job started); b was never served: b first. Then a's
        # running tasks are one share, like b's one running job, and a was served first
        # (its tasks carry on its job's start): its tasks go on before b's second job.
        assert claims(3) == [b1, a, a]
        c = _job(s, "c")  # a new upload holds no share: it goes before a's next task
        assert claims(5) == [c, a, a, a, b2]


def test_users_take_turns_between_tasks_with_one_worker(sessions) -> None:
    with transaction(sessions) as s:
        a = _chunked(s, "a", chunks=3)
        b = [_job(s, "b") for _ in range(2)]
        order = []
        for _ in range(5):
            claimed = _claim(s)
            assert claimed is not None
            order.append(claimed.job_id)
            if claimed.task:
                assert task_state.succeed(s, task_id=claimed.task.task_id, worker_id="w")
            else:
                job_state.release(s, job_id=claimed.job_id, worker_id="w")
                s.execute(update(Job).where(Job.id == claimed.job_id)
                          .values(status=JobStatus.SUCCEEDED))
        assert order == [b[0], a, b[1], a, a]


def test_heartbeats_carry_the_job_and_its_weighted_progress(sessions) -> None:
    with transaction(sessions) as s:
        job_id = _chunked(s, "a", chunks=2)
        audio, chunk = _claim(s, "w1"), _claim(s, "w2")
        assert audio and audio.task and chunk and chunk.task
        s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=LONG_AGO))
        beat = task_state.heartbeat(s, task_id=chunk.task.task_id, worker_id="w2", progress=0.5)
        assert beat.owned and not beat.cancel_requested
        assert task_state.succeed(s, task_id=audio.task.task_id, worker_id="w1")
        job = s.get(Job, job_id)
        s.refresh(job)
        assert job is not None and job.heartbeat_at and job.heartbeat_at > LONG_AGO
        # audio 1 (done) + chunk 10 at half + chunk 10 + stitch 1, out of 22.
        assert job.progress == pytest.approx((1 + 5) / 22)
        assert not task_state.heartbeat(s, task_id=chunk.task.task_id, worker_id="w3").owned


def test_a_task_is_owned_once_and_a_dead_workers_task_is_taken_over(sessions) -> None:
    with transaction(sessions) as s:
        job_id = _chunked(s, "a", chunks=1)
        audio = _claim(s, "w1")
        assert audio and audio.task
        assert task_state.claim(s, task_id=audio.task.task_id, worker_id="w2",
                                stale_after=STALE) is None
        s.execute(update(Task).where(Task.id == audio.task.task_id)
                  .values(heartbeat_at=LONG_AGO))
        again = task_state.claim(s, task_id=audio.task.task_id, worker_id="w2",
                                 stale_after=STALE)
        assert again and again.attempts == 2
        assert not task_state.succeed(s, task_id=audio.task.task_id, worker_id="w1")
        assert task_state.succeed(s, task_id=audio.task.task_id, worker_id="w2")
        # A duplicate delivery finds nothing more to do with it.
        assert task_state.claim(s, task_id=audio.task.task_id, worker_id="w3",
                                stale_after=STALE) is None
        assert _kinds(s, job_id)[0] == JobStatus.SUCCEEDED


def test_a_failing_chunk_fails_the_job_once_and_ends_its_other_tasks(sessions) -> None:
    with transaction(sessions) as s:
        job_id = _chunked(s, "a", chunks=2)
        _audio, one, two = _claim(s, "w1"), _claim(s, "w2"), _claim(s, "w3")
        assert one and one.task and two and two.task
        for claim, worker in ((one, "w2"), (two, "w3")):
            assert claim.task
            assert task_state.end_task(s, task_id=claim.task.task_id, worker_id=worker,
                                       status=JobStatus.FAILED, reason="bad",
                                       code=ErrorCode.CORRUPT)
        assert job_state.fail(s, job_id=job_id, worker_id="w2", reason="chunk 1 of 2: bad",
                              code=ErrorCode.CORRUPT, chunked=True)
        assert not job_state.fail(s, job_id=job_id, worker_id="w3", reason="chunk 2 of 2: bad",
                                  code=ErrorCode.CORRUPT, chunked=True)
        job = s.get(Job, job_id)
        assert job is not None and job.status == JobStatus.FAILED
        assert job.error == "chunk 1 of 2: bad"
        statuses = _kinds(s, job_id)
        assert statuses[0] == JobStatus.CANCELLED and statuses[3] == JobStatus.CANCELLED
        failed = s.execute(select(Event).where(Event.type == "job.failed",
                                               Event.subject_id == job_id)).scalars().all()
        assert len(failed) == 1


def test_a_task_whose_workers_keep_dying_fails_the_job_with_its_name(sessions) -> None:
    with transaction(sessions) as s:
        job_id = _chunked(s, "a", chunks=3)
        s.execute(update(Task).where(Task.job_id == job_id, Task.seq == 2)
                  .values(status=JobStatus.RUNNING, worker_id="gone", attempts=3,
                          heartbeat_at=LONG_AGO))
        ended = job_state.end_abandoned(s, stale_after=STALE, max_attempts=3)
        assert [job for job, _ in ended] == [job_id]
        job = s.get(Job, job_id)
        assert job is not None and job.status == JobStatus.FAILED
        assert job.error_code == ErrorCode.DEAD_LETTERED
        assert job.error and job.error.startswith("chunk 2 of 3: ")


def test_cancel_stops_every_task(sessions) -> None:
    with transaction(sessions) as s:
        job_id = _chunked(s, "a", chunks=2)
        running = _claim(s, "w1")
        assert running and running.task
        assert job_state.request_cancel(s, job_id=job_id) == job_state.CancelOutcome.FLAGGED
        assert _claim(s, "w2") is None  # nothing more of it starts
        beat = task_state.heartbeat(s, task_id=running.task.task_id, worker_id="w1")
        assert beat.cancel_requested
        assert task_state.end_task(s, task_id=running.task.task_id, worker_id="w1",
                                   status=JobStatus.CANCELLED)
        assert job_state.mark_cancelled(s, job_id=job_id, worker_id="w1", chunked=True)
        assert set(_kinds(s, job_id).values()) == {JobStatus.CANCELLED}


def test_a_cancelled_job_with_no_task_running_is_ended_by_the_next_claim(sessions) -> None:
    with transaction(sessions) as s:
        job_id = _chunked(s, "a", chunks=2)
        s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=LONG_AGO))
        assert job_state.request_cancel(s, job_id=job_id) == job_state.CancelOutcome.FLAGGED
        ended = job_state.end_abandoned(s, stale_after=STALE, max_attempts=3)
        assert [job for job, _ in ended] == [job_id]
        job = s.get(Job, job_id)
        assert job is not None and job.status == JobStatus.CANCELLED
        assert set(_kinds(s, job_id).values()) == {JobStatus.CANCELLED}


def test_the_stitch_publishes_the_job(sessions) -> None:
    with transaction(sessions) as s:
        job_id = _chunked(s, "a", chunks=1)
        for worker in ("w1", "w2"):
            claim = _claim(s, worker)
            assert claim and claim.task
            assert task_state.succeed(s, task_id=claim.task.task_id, worker_id=worker,
                                      spent_s=5.0)
        stitch = _claim(s, "w3")
        assert stitch and stitch.task and stitch.task.kind == TaskKind.STITCH
        assert task_state.succeed(s, task_id=stitch.task.task_id, worker_id="w3", spent_s=2.0)
        assert job_state.succeed(s, job_id=job_id, worker_id="w3", chunked=True,
                                 instance_seconds=task_state.instance_seconds(s, job_id=job_id))
        job = s.get(Job, job_id)
        assert job is not None and job.status == JobStatus.SUCCEEDED
        assert job.instance_seconds == pytest.approx(12.0)
        video = s.get(GalleryVideo, job.video_id)
        assert video is not None and video.status == VideoStatus.READY
