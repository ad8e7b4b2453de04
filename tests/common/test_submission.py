"""Job submission: one job per idempotency key, nothing left behind when the queue fails."""

from __future__ import annotations

import contextlib
import threading

import pytest
from sqlalchemy import func, select

from common.broker import InMemoryBroker
from common.db import engine_for, session_factory
from common.errors import Invalid
from common.messages import WakeUp
from common.models import GalleryVideo, Job, VideoStatus
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


def test_concurrent_submits_for_one_video_make_one_job(clean_database: str) -> None:
    """Both requests pass every check before either inserts: the database must refuse one."""
    sessions = session_factory(clean_database)
    with sessions() as session:
        video_id = _video(session).id
        session.commit()
    both_checked = threading.Barrier(2)

    def meet() -> None:  # each submitter waits here until the other has checked too
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=3)

    results: list[object] = []

    def submit_one() -> None:
        with sessions() as session:
            video = session.get(GalleryVideo, video_id)
            try:
                results.append(submit_job(session, InMemoryBroker(), video=video,
                                          owner_id="u1").job.id)
            except SubmissionError as exc:
                results.append(exc)

    with before_statement(engine_for(clean_database), "INSERT INTO jobs", meet, times=2):
        threads = [threading.Thread(target=submit_one) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    refused = [r for r in results if isinstance(r, SubmissionError)]
    assert len(results) == 2 and len(refused) == 1
    assert "already queued or running" in str(refused[0])
    with sessions() as session:
        assert _jobs(session) == 1
