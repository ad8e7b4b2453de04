"""The scheduler on PostgreSQL and SQLite: priority, fair share, age; positions that are
the order claims really take; a claim that loses a race picks again."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from common import job_state, queue_order, task_state
from common.db import engine_for, migrate, session_factory, transaction
from common.models import GalleryVideo, Job, JobStatus, TaskKind, VideoStatus
from common.task_state import NewTask
from tests.support.races import ClaimRacer, before_statement

STALE = timedelta(minutes=5)
T0 = datetime(2030, 1, 1, tzinfo=UTC)
_ticks = itertools.count()


@pytest.fixture(params=["postgresql", "sqlite"])
def sessions(request, clean_database: str, tmp_path) -> sessionmaker[Session]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vf.db'}"
        migrate(url)
        return session_factory(url)
    return session_factory(clean_database)


def _job(session: Session, owner: str, *, priority: int = 0, **fields: object) -> str:
    """A queued job of its own video, created one second after the previous one."""
    video = GalleryVideo(owner_id=owner, status=VideoStatus.PROCESSING, source_bucket="b",
                         source_key=f"uploads/{owner}/k")
    session.add(video)
    session.flush()
    job = Job(video_id=video.id, owner_id=owner, priority=priority,
              created_at=T0 + timedelta(seconds=next(_ticks)), **fields)
    session.add(job)
    session.flush()
    return job.id


def _owner_of(session: Session, job_id: str) -> str:
    job = session.get(Job, job_id)
    assert job is not None
    return job.owner_id


def _claim(session: Session, worker: str = "w") -> str | None:
    claimed = job_state.claim_next(session, worker_id=worker, stale_after=STALE)
    return claimed.job_id if claimed else None


def test_a_higher_priority_runs_before_older_jobs(sessions) -> None:
    with transaction(sessions) as s:
        old = _job(s, "a")
        urgent = _job(s, "b", priority=5)
        assert [_claim(s), _claim(s), _claim(s)] == [urgent, old, None]


def test_the_user_with_fewer_running_shares_goes_first(sessions) -> None:
    with transaction(sessions) as s:
        a1, a2, a3 = _job(s, "a"), _job(s, "a"), _job(s, "a")
        b1 = _job(s, "b")
        assert _claim(s, "w1") == a1  # oldest; nobody is running anything
        assert _claim(s, "w2") == b1  # a has a share running, b none: b's newer job
        assert [_claim(s, "w3"), _claim(s, "w4")] == [a2, a3]  # work-conserving


def test_users_take_turns_even_with_one_worker(sessions) -> None:
    """One worker, nothing running between jobs: the user served last waits its turn."""
    with transaction(sessions) as s:
        a = [_job(s, "a") for _ in range(3)]
        b1 = _job(s, "b")
        order = []
        for _ in range(4):
            job_id = _claim(s)
            assert job_id is not None
            order.append(job_id)
            assert job_state.succeed(s, job_id=job_id, worker_id="w")
        assert order == [a[0], b1, a[1], a[2]]


def test_what_is_not_runnable_is_not_claimed(sessions) -> None:
    with transaction(sessions) as s:
        backing_off = _job(s, "a", not_before=datetime.now(UTC) + timedelta(hours=1))
        flagged = _job(s, "a", cancel_requested=True)
        alive, dead = _job(s, "b"), _job(s, "c")
        for job_id in (alive, dead):
            assert job_state.claim(s, job_id=job_id, worker_id="gone", stale_after=STALE)
        s.execute(update(Job).where(Job.id == dead)
                  .values(heartbeat_at=datetime.now(UTC) - 2 * STALE))
        assert [_claim(s), _claim(s)] == [dead, None]  # the dead worker's job is taken over
        s.execute(update(Job).where(Job.id == backing_off).values(not_before=None))
        assert _claim(s) == backing_off
        assert flagged not in {_claim(s)}


def test_queue_positions_are_the_order_claims_take(sessions) -> None:
    with transaction(sessions) as s:
        running = _job(s, "a")
        assert job_state.claim(s, job_id=running, worker_id="w0", stale_after=STALE)
        served = _job(s, "c")  # c was served before, a while ago
        assert job_state.claim(s, job_id=served, worker_id="w0", stale_after=STALE)
        assert job_state.succeed(s, job_id=served, worker_id="w0")
        queued = [_job(s, owner) for owner in "aaabbccd"]
        queued.append(_job(s, "b", priority=3))
        positions = queue_order.queue_positions(s, queued)
        predicted = sorted(queued, key=positions.__getitem__)
        assert sorted(positions.values()) == list(range(len(queued)))
        assert queue_order.queue_positions(s, None) == positions  # every queued job
        taken = [_claim(s, f"w{i}") for i in range(len(queued))]  # nothing finishes
        assert taken == predicted
        assert [_owner_of(s, j) for j in taken] == list("bdcabcaba")


def test_one_jobs_position_is_counted_as_the_whole_queue_ranks_it(sessions) -> None:
    """queue_position (one job's, counted) agrees with queue_positions (everyone's, ranked)
    for each job of a queue with running shares, served and unserved users, priorities,
    and jobs created at the same instant."""
    with transaction(sessions) as s:
        for owner, worker in (("a", "w0"), ("a", "w1"), ("b", "w2")):  # shares: a 2, b 1
            assert job_state.claim(s, job_id=_job(s, owner), worker_id=worker,
                                   stale_after=STALE)
        served = _job(s, "c")  # c has none running, and was served a while ago
        assert job_state.claim(s, job_id=served, worker_id="w3", stale_after=STALE)
        assert job_state.succeed(s, job_id=served, worker_id="w3")
        same = T0 + timedelta(hours=1)
        queued = [_job(s, owner, priority=priority) for owner, priority in (
            ("a", 0), ("a", 0), ("a", 2), ("b", 0), ("b", 2), ("c", 0), ("c", 0), ("d", 0),
            ("d", 1), ("e", 0), ("e", 0), ("f", 2))]
        for owner in "defa":  # four jobs created at once: the tie-breaks decide
            queued.append(_job(s, owner))
            s.execute(update(Job).where(Job.id == queued[-1]).values(created_at=same))
        _job(s, "g", cancel_requested=True)  # not waiting: in nobody's way
        everyone = queue_order.queue_positions(s, None)
        assert sorted(everyone.values()) == list(range(len(queued)))
        assert {j: queue_order.queue_position(s, j) for j in queued} == everyone
        assert queue_order.queue_position(s, served) is None


def _chunked(session: Session, owner: str, chunks: int) -> str:
    """A job split into the audio, ``chunks`` chunks and the stitch, all waiting."""
    job_id = _job(session, owner)
    assert job_state.claim(session, job_id=job_id, worker_id="splitter", stale_after=STALE)
    plan = [NewTask(TaskKind.AUDIO, 0), *(NewTask(TaskKind.CHUNK, 1 + i, {"index": i})
                                          for i in range(chunks)),
            NewTask(TaskKind.STITCH, chunks + 1)]
    assert task_state.split(session, job_id=job_id, worker_id="splitter", tasks=plan)
    return job_id


def test_positions_count_the_chunk_tasks_that_claims_take_first(sessions) -> None:
    """Waiting jobs count the chunk tasks ahead of them, and a running chunked job stands
    where its next task does: both are where repeated claims really take them, for
    owners with and without shares, served and not, a chunked job whose tasks go on in a
    row among owners of as many shares, and priorities."""
    with transaction(sessions) as s:
        chunked = _chunked(s, "a", chunks=4)
        assert (_claim(s, "w0"), _claim(s, "w1")) == (chunked, chunked)  # audio, chunk 1
        assert job_state.claim(s, job_id=_job(s, "b"), worker_id="w2", stale_after=STALE)
        served = _job(s, "c")  # c has none running, and was served a while ago
        assert job_state.claim(s, job_id=served, worker_id="w3", stale_after=STALE)
        assert job_state.succeed(s, job_id=served, worker_id="w3")
        queued = [_job(s, owner, priority=priority) for owner, priority in (
            ("a", 0), ("a", 0), ("b", 0), ("b", 0), ("c", 0), ("c", 0), ("d", 0),
            ("d", 0), ("e", 3), ("c", 1))]
        counted = {j: queue_order.queue_position(s, j) for j in [*queued, chunked]}
        assert queue_order.queue_positions(s, None) == counted
        assert queue_order.queue_positions(s, [chunked, served]) == {chunked: counted[chunked]}
        assert queue_order.queue_position(s, served) is None
        taken = []
        while (claimed := job_state.claim_next(s, worker_id=f"w{len(taken) + 4}",
                                               stale_after=STALE)) is not None:
            taken.append(claimed.job_id)  # nothing finishes: the stitch never comes
        assert len(taken) == len(queued) + 3  # and the three chunks left
        assert counted == {j: taken.index(j) for j in counted}
        # e and c above; d, never served, first; then among one share each a, whose job
        # started first, takes its three chunks and first job in a row; c was served
        # higher up on the way, d at the rank before
        assert "".join(_owner_of(s, j) for j in taken) == "ecdaaaabcdabc"
        assert queue_order.queue_position(s, chunked) == 0  # all its tasks run


def test_with_the_chunk_hold_started_tasks_go_first_until_a_job_is_older_than_it(
        sessions) -> None:
    """VF_CHUNK_HOLD_S: a's started chunked job keeps the workers ahead of b's new job (b
    has no share running, so without the hold it would go first), until b's job is older
    than the hold; a higher priority still goes first."""
    hold = timedelta(minutes=5)
    with transaction(sessions) as s:
        chunked = _chunked(s, "a", chunks=2)
        fresh = _job(s, "b")
        urgent = _job(s, "c", priority=1)

        def claim() -> str | None:
            claimed = job_state.claim_next(s, worker_id="w", stale_after=STALE,
                                           chunk_hold=hold)
            return claimed.job_id if claimed else None

        assert claim() == urgent
        assert [claim(), claim()] == [chunked, chunked]  # the audio, chunk 1
        s.execute(update(Job).where(Job.id == fresh)
                  .values(created_at=datetime.now(UTC) - hold - timedelta(seconds=1)))
        assert [claim(), claim(), claim()] == [fresh, chunked, None]  # then chunk 2


def test_without_the_chunk_hold_a_new_users_job_goes_before_started_tasks(sessions) -> None:
    with transaction(sessions) as s:
        chunked = _chunked(s, "a", chunks=2)
        fresh = _job(s, "b")
        assert [_claim(s), _claim(s)] == [fresh, chunked]


def test_a_claim_that_loses_the_race_takes_the_next_job(clean_database: str) -> None:
    sessions = session_factory(clean_database)
    with transaction(sessions) as s:
        first, second = _job(s, "a"), _job(s, "a")

    def another_worker_claims() -> None:
        with transaction(sessions) as other:
            assert _claim(other, "w2") == first

    with before_statement(engine_for(clean_database), "UPDATE jobs", another_worker_claims) \
            as fired, transaction(sessions) as s:
        assert _claim(s, "w1") == second  # it had picked `first`; the UPDATE refused
    assert fired


@pytest.mark.parametrize("before_statement_n", [1, 2, 3, 4])
def test_a_claim_committed_during_the_pick_never_serves_its_owner_twice(
        clean_database: str, before_statement_n: int) -> None:
    """Another worker's claim of Alice's oldest job commits just before the n-th statement
    of this worker's claim. Whichever moment that is, Bob's job is one of the two claims: the
    pick reads priority, owner and job from one snapshot, so it cannot choose Alice while
    her job was queued and then, seeing it taken, her next job."""
    sessions = session_factory(clean_database)
    with transaction(sessions) as s:
        alice = [_job(s, "alice"), _job(s, "alice")]
        bob = _job(s, "bob")
    rival = ClaimRacer(sessions, worker_id="w2")
    seen = itertools.count(1)

    def at_the_nth_statement() -> None:
        if next(seen) == before_statement_n:
            rival()

    with before_statement(engine_for(clean_database), "", at_the_nth_statement,
                          times=before_statement_n), transaction(sessions) as s:
        mine = _claim(s, "w1")
    if next(seen) <= before_statement_n:  # this claim took fewer statements: claim after it
        rival()
    assert {mine, *rival.result()} == {alice[0], bob}


def test_a_claim_racing_a_video_delete_never_runs_into_the_deleted_video(
        clean_database: str) -> None:
    sessions = session_factory(clean_database)
    with transaction(sessions) as s:
        job_id = _job(s, "a")
        video_id = s.get(Job, job_id).video_id  # type: ignore[union-attr]
    racer = ClaimRacer(sessions)
    with before_statement(engine_for(clean_database), "DELETE FROM gallery_videos",
                          racer) as fired, transaction(sessions) as s:
        assert job_state.delete_video(s, video_id=video_id) == job_state.VideoDeletion.DELETED
    assert fired and racer.result() == [None]  # the job was cancelled before it could win
    with sessions() as s:
        job = s.get(Job, job_id)  # it stays, for usage: cancelled, with no video
        assert job and (job.status, job.video_id) == (JobStatus.CANCELLED, None)
        assert s.get(GalleryVideo, video_id) is None


def test_a_video_whose_job_a_worker_just_claimed_is_not_deleted(clean_database: str) -> None:
    sessions = session_factory(clean_database)
    with transaction(sessions) as s:
        job_id = _job(s, "a")
        video_id = s.get(Job, job_id).video_id  # type: ignore[union-attr]
    racer = ClaimRacer(sessions)
    with before_statement(engine_for(clean_database), "UPDATE jobs", racer), \
            transaction(sessions) as s:
        assert job_state.delete_video(s, video_id=video_id) == job_state.VideoDeletion.BUSY
    assert racer.result() == [job_id]
    with sessions() as s:
        job = s.get(Job, job_id)
        assert job is not None and job.status == JobStatus.RUNNING


def test_a_job_whose_workers_died_on_every_attempt_is_failed_not_run_again(sessions) -> None:
    with transaction(sessions) as s:
        poison, cancelled = _job(s, "a"), _job(s, "b")
        for job_id in (poison, cancelled):
            assert job_state.claim(s, job_id=job_id, worker_id="died", stale_after=STALE)
        job_state.request_cancel(s, job_id=cancelled)  # then its worker died too
        s.execute(update(Job).values(heartbeat_at=datetime.now(UTC) - 2 * STALE))
        ended = job_state.end_abandoned(s, stale_after=STALE, max_attempts=1)
        assert {job_id for job_id, _ in ended} == {poison, cancelled}
        assert _claim(s) is None
        failed, gone = s.get(Job, poison), s.get(Job, cancelled)
        assert failed is not None and gone is not None
        assert (failed.status, failed.error_code) == (JobStatus.FAILED, "dead_lettered")
        assert gone.status == JobStatus.CANCELLED


def test_a_job_claimed_between_the_position_reads_has_no_position(clean_database: str) -> None:
    """The job's own row and the owners' counts are two reads, each its own snapshot: a
    worker claiming the job in between leaves it with no position, not a server error."""
    sessions = session_factory(clean_database)
    with transaction(sessions) as s:
        job_id = _job(s, "a")
    racer = ClaimRacer(sessions)
    with before_statement(engine_for(clean_database), "WITH", racer) as fired, \
            sessions() as s:
        assert queue_order.queue_position(s, job_id, stale_after=STALE) is None
    assert fired and racer.result() == [job_id]
