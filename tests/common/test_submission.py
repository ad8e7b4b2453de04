"""Job submission: one job per idempotency key, nothing left behind when the queue fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from common.broker import InMemoryBroker
from common.db import engine_for, session_factory
from common.errors import Invalid
from common.messages import WakeUp
from common.models import GalleryVideo, Job, JobStatus, VideoStatus
from common.submission import SubmissionError, submit_job
from tests.support.races import before_statement


class _DownBroker(InMemoryBroker):
    def send(self, message: WakeUp, *, delay_s: int = 0) -> str:
        raise ConnectionError("queue unreachable")


def _video(session, status: VideoStatus = VideoStatus.UPLOADED) -> GalleryVideo:
    video = GalleryVideo(owner_id="u1", title="t", status=status,
                         source_bucket="b", source_key="uploads/u1/v/clip.mp4")
    session.add(video)
    session.flush()
    return video


def _jobs(session) -> int:
    return session.execute(select(func.count()).select_from(Job)).scalar_one()


def test_submit_creates_queued_job_and_one_message(db_session) -> None:
    broker = InMemoryBroker()
    video = _video(db_session)
    submitted = submit_job(db_session, broker, video=video, owner_id="u1",
                           qualities=["720p", "480p", "720p"])
    assert submitted.created and submitted.job.qualities == ["480p", "720p"]
    delivery = broker.receive()
    assert delivery is not None and delivery.token().reason == "submitted"
    assert video.status == VideoStatus.PROCESSING


def test_same_idempotency_key_returns_the_first_job(db_session) -> None:
    broker = InMemoryBroker()
    video = _video(db_session)
    first = submit_job(db_session, broker, video=video, owner_id="u1", idempotency_key="k1")
    again = submit_job(db_session, broker, video=video, owner_id="u1", idempotency_key="k1")
    assert not again.created and again.job.id == first.job.id
    assert broker.counts().visible == 1


@pytest.mark.parametrize(("qualities", "status", "kind"), [
    (["9000p"], VideoStatus.UPLOADED, Invalid),
    ([], VideoStatus.UPLOADED, Invalid),
    (None, VideoStatus.UPLOADING, SubmissionError),
])
def test_refused_submissions_create_nothing(db_session, qualities, status, kind) -> None:
    video = _video(db_session, status)
    with pytest.raises(kind):
        submit_job(db_session, InMemoryBroker(), video=video, owner_id="u1", qualities=qualities)
    assert _jobs(db_session) == 0


def test_second_job_while_one_is_active_is_refused(db_session) -> None:
    broker = InMemoryBroker()
    video = _video(db_session)
    submit_job(db_session, broker, video=video, owner_id="u1")
    video.status = VideoStatus.UPLOADED  # even if the video looks idle, the job is active
    with pytest.raises(SubmissionError, match="already queued or running"):
        submit_job(db_session, broker, video=video, owner_id="u1")


def test_queue_failure_rolls_back_the_job(db_session) -> None:
    video_id = _video(db_session).id
    db_session.commit()
    video = db_session.get(GalleryVideo, video_id)
    with pytest.raises(ConnectionError):
        submit_job(db_session, _DownBroker(), video=video, owner_id="u1")
    assert _jobs(db_session) == 0


def test_estimated_work_is_the_duration_times_the_qualities_work(db_session) -> None:
    video = _video(db_session)
    video.duration_s, video.width, video.height = 10.0, 1280, 720
    everything = submit_job(db_session, InMemoryBroker(), video=video, owner_id="u1").job
    # 480p + 720p fit a 720p source: (854×480 + 1280×720) / (1920×1080) of a 1080p second.
    assert everything.estimated_work_s == pytest.approx(10 * (854 * 480 + 1280 * 720)
                                                        / (1920 * 1080), abs=1e-3)
    unknown = _video(db_session)  # never probed: the autoscaler uses its typical job
    assert submit_job(db_session, InMemoryBroker(), video=unknown,
                      owner_id="u1").job.estimated_work_s is None


def test_aliases_are_accepted_and_named_canonically(db_session) -> None:
    job = submit_job(db_session, InMemoryBroker(), video=_video(db_session), owner_id="u1",
                     qualities=["4K", "uhd", "hd"]).job
    assert job.qualities == ["720p", "2160p"]


def _race(clean_database: str, *, first: Callable[[], object],
          second: Callable[[], object]) -> list[object]:
    """Run ``first`` and ``second`` on two threads (each its own connection), started
    together at a barrier; what each returned or raised."""
    start = threading.Barrier(2, timeout=10)
    results: list[object] = [None, None]

    def run(index: int, work: Callable[[], object]) -> None:
        start.wait()
        try:
            results[index] = work()
        except SubmissionError as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _submit(sessions: sessionmaker[Session], video_id: str) -> str:
    with sessions() as session:
        video = session.get(GalleryVideo, video_id)
        return submit_job(session, InMemoryBroker(), video=video, owner_id="u1").job.id


def _lock_waiters(url: str) -> int:
    """Backends of this database waiting for a lock another transaction holds."""
    with engine_for(url).connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar_one())


def test_concurrent_submits_for_one_video_make_one_job(clean_database: str) -> None:
    """Both requests have checked the video and are about to claim it at once: the
    video's row decides (the second waits for the first, then finds it PROCESSING)."""
    sessions = session_factory(clean_database)
    with sessions() as session:
        video_id = _video(session).id
        session.commit()
    both = threading.Barrier(2, timeout=10)
    with before_statement(engine_for(clean_database), "UPDATE gallery_videos",
                          both.wait, times=2) as fired:
        results = _race(clean_database, first=lambda: _submit(sessions, video_id),
                        second=lambda: _submit(sessions, video_id))
    assert len(fired) == 2  # both met there: neither had written anything yet
    refused = [r for r in results if isinstance(r, SubmissionError)]
    assert len(refused) == 1 and "already queued or running" in str(refused[0])
    with sessions() as session:
        assert _jobs(session) == 1


def test_the_one_active_job_index_decides_a_racing_insert(clean_database: str) -> None:
    """A writer holding an active job's insert uncommitted, and a submit for the same
    video: the video's row does not stop the submit, the partial unique index does. Its
    INSERT waits on the other's index entry, then fails, and the caller gets the clean
    refusal, not an IntegrityError."""
    sessions = session_factory(clean_database)
    with sessions() as session:
        video_id = _video(session).id
        session.commit()
    inserted, waited = threading.Event(), threading.Event()

    def writer() -> str:
        with sessions() as session:
            job = Job(video_id=video_id, owner_id="u1", status=JobStatus.QUEUED)
            session.add(job)
            session.flush()
            inserted.set()
            deadline = time.monotonic() + 10
            while _lock_waiters(clean_database) == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            if time.monotonic() < deadline:
                waited.set()  # the submit is blocked on this job's index entry
            session.commit()
            return job.id

    def submitter() -> str:
        assert inserted.wait(timeout=10)
        return _submit(sessions, video_id)

    won, lost = _race(clean_database, first=writer, second=submitter)
    assert waited.is_set(), "the submit never waited on the index"
    assert isinstance(won, str) and isinstance(lost, SubmissionError)
    assert "already queued or running" in str(lost)
    with sessions() as session:
        assert _jobs(session) == 1
        video = session.get(GalleryVideo, video_id)
        assert video is not None and video.status == VideoStatus.UPLOADED  # rolled back
