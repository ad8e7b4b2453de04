"""The fleet sees chunk work (issue 10): a chunked job counts through its tasks, each a
unit one worker takes, so one long upload scales the fleet out; wake-up tokens are
counted per task too."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from common import job_state, task_state
from common.broker import InMemoryBroker
from common.messages import WakeUp
from common.models import GalleryVideo, Job, TaskKind, VideoStatus
from common.task_state import NewTask
from processor.autoscaler.backends import StaticFleet
from processor.autoscaler.backlog import WorkEstimator
from processor.autoscaler.controller import Controller
from processor.autoscaler.policy import Autoscaler, ScalingConfig
from processor.autoscaler.signals import SignalReader
from processor.wakeups import tokens_needed

STALE = timedelta(minutes=5)


def _long_job(session: Session, chunks: int) -> str:
    video = GalleryVideo(owner_id="u1", status=VideoStatus.PROCESSING, source_bucket="b",
                         source_key="k")
    session.add(video)
    session.flush()
    job = Job(video_id=video.id, owner_id="u1", estimated_work_s=600.0)
    session.add(job)
    session.flush()
    assert job_state.claim(session, job_id=job.id, worker_id="splitter", stale_after=STALE)
    tasks = [NewTask(TaskKind.AUDIO, 0, estimated_work_s=2.0),
             *(NewTask(TaskKind.CHUNK, i + 1, {"index": i}, estimated_work_s=100.0)
               for i in range(chunks)),
             NewTask(TaskKind.STITCH, chunks + 1, estimated_work_s=8.0)]
    assert task_state.split(session, job_id=job.id, worker_id="splitter", tasks=tasks)
    return job.id


def test_a_chunked_job_counts_through_its_tasks(db_session: Session) -> None:
    _long_job(db_session, chunks=6)
    claimed = job_state.claim_next(db_session, worker_id="w1", stale_after=STALE)
    assert claimed and claimed.task and claimed.task.kind == TaskKind.AUDIO
    backlog = WorkEstimator(default_cost=1.0).backlog(db_session)
    # Six chunks and the stitch wait; the audio runs; the job itself is not counted.
    assert backlog.queued_jobs == 7 and backlog.running_jobs == 1
    assert backlog.queued_work_s == pytest.approx(608.0)
    assert backlog.queued_work_each_s == (8.0, *([100.0] * 6))
    # Tokens: the running audio holds one, each chunk needs one; the stitch gets its own
    # when the others are done.
    assert tokens_needed(db_session) == 7


def test_one_long_upload_scales_the_fleet_out(db_session: Session) -> None:
    _long_job(db_session, chunks=6)
    broker = InMemoryBroker()
    for _ in range(7):
        broker.send(WakeUp())
    fleet = StaticFleet(1)
    sessions: Any = lambda: nullcontext(db_session)  # noqa: E731
    controller = Controller(
        reader=SignalReader(broker=broker, sessions=sessions, backend=fleet,
                            estimator=WorkEstimator(default_cost=1.0)),
        autoscaler=Autoscaler(ScalingConfig(policy="work", min_size=1, max_size=10,
                                            target_latency_s=120.0, warmup_s=0.0)),
        backend=fleet, interval_s=0.01,
    )
    decision = controller.tick().decision
    # 702 s of work in 8 pieces: one instance would take 702 s; the target needs several.
    assert decision.desired >= 6
