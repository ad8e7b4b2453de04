"""The controller: signals from the queue and the database, decisions applied to a backend,
gauges and the CloudWatch metric."""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import Session

from common import aws, job_state
from common.broker import InMemoryBroker
from common.costs import Prices, cost_of
from common.messages import WakeUp
from common.models import GalleryVideo, Job, VideoStatus
from common.settings import CommonSettings
from processor.autoscaler.backends import FleetState, StaticFleet
from processor.autoscaler.backlog import WorkEstimator, WorkItem
from processor.autoscaler.controller import CloudWatchPublisher, Controller, FleetMeter, Tick
from processor.autoscaler.policy import Autoscaler, ScalingConfig
from processor.autoscaler.signals import SignalReader


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _video(session: Session, **kw: Any) -> GalleryVideo:
    video = GalleryVideo(owner_id="u1", status=VideoStatus.PROCESSING, **kw)
    session.add(video)
    session.flush()
    return video


def _job(session: Session, video: GalleryVideo, **kw: Any) -> Job:
    job = Job(video_id=video.id, owner_id="u1", **kw)
    session.add(job)
    session.flush()
    return job


def _run(session: Session, job: Job, *, progress: float = 0.0,
         instance_seconds: float | None = None) -> None:
    assert job_state.claim(session, job_id=job.id, worker_id="w", stale_after=timedelta(60))
    job_state.heartbeat(session, job_id=job.id, worker_id="w", progress=progress)
    if instance_seconds is not None:
        assert job_state.succeed(session, job_id=job.id, worker_id="w",
                                 instance_seconds=instance_seconds)


def _sessions(session: Session) -> Any:
    return lambda: nullcontext(session)


def test_backlog_uses_measured_encode_cost_and_progress(db_session: Session) -> None:
    def job(**kw: Any) -> Job:  # a video each (one active job per video)
        return _job(db_session, _video(db_session), **kw)

    # Estimates are seconds of 1080p encoding; these took 2 and 3 instance-seconds each.
    _run(db_session, job(estimated_work_s=10.0), instance_seconds=20.0)
    _run(db_session, job(estimated_work_s=10.0), instance_seconds=30.0)
    job(estimated_work_s=4.0)
    job(estimated_work_s=7.0)
    job()  # nothing known: a typical job, median of 20 and 30
    _run(db_session, job(estimated_work_s=8.0), progress=0.25)

    backlog = WorkEstimator(default_cost=1.0).backlog(db_session)
    assert backlog.encode_cost == pytest.approx(2.5)  # median of 2.0 and 3.0
    assert (backlog.queued_jobs, backlog.running_jobs) == (3, 1)
    assert backlog.queued_work_s == pytest.approx(4.0 * 2.5 + 7.0 * 2.5 + 25.0)
    assert backlog.queued_work_each_s == pytest.approx((10.0, 17.5, 25.0))
    assert backlog.running_work_s == pytest.approx(8.0 * 2.5 * 0.75)
    assert backlog.running_remaining_s == pytest.approx((15.0,))
    assert backlog.oldest_queued_age_s >= 0.0


def test_default_cost_until_jobs_finish(db_session: Session) -> None:
    _job(db_session, _video(db_session), estimated_work_s=6.0)
    _job(db_session, _video(db_session))
    backlog = WorkEstimator(default_cost=1.5, default_job_s=40.0).backlog(db_session)
    assert backlog.encode_cost == 1.5 and backlog.queued_work_s == pytest.approx(9.0 + 40.0)


def test_every_lane_counts_and_only_runnable_work(db_session: Session) -> None:
    # Priorities and owners order the work; the fleet needs capacity for all of it.
    for owner, priority in (("u1", 0), ("u1", 9), ("u2", 5), ("u3", 0)):
        video = GalleryVideo(owner_id=owner, status=VideoStatus.PROCESSING)
        db_session.add(video)
        db_session.flush()
        db_session.add(Job(video_id=video.id, owner_id=owner, priority=priority,
                           estimated_work_s=10.0))
    # Released, then flagged for cancel: no claim will take it, so it is no work.
    _job(db_session, _video(db_session), estimated_work_s=100.0, cancel_requested=True)
    # Running and flagged for cancel: its worker is busy stopping, with nothing left to do.
    cancelling = _job(db_session, _video(db_session), estimated_work_s=100.0)
    _run(db_session, cancelling, progress=0.5)
    job_state.request_cancel(db_session, job_id=cancelling.id)
    db_session.flush()

    backlog = WorkEstimator(default_cost=2.0).backlog(db_session)
    assert backlog.queued_jobs == 4 and backlog.queued_work_each_s == (20.0,) * 4
    assert backlog.running_jobs == 1 and backlog.running_remaining_s == (0.0,)


def test_a_running_job_without_an_estimate_is_judged_by_its_pace(
        db_session: Session) -> None:
    job = _job(db_session, _video(db_session))  # duration unknown at submission
    _run(db_session, job, progress=0.25)
    started = db_session.execute(select(Job.started_at).where(Job.id == job.id)).scalar_one()
    estimator = WorkEstimator(default_job_s=60.0)
    # A quarter done after 100 s: 300 s to go, whatever a typical job takes.
    backlog = estimator.backlog(db_session, now=started + timedelta(seconds=100))
    assert backlog.running_remaining_s == pytest.approx((300.0,))
    # Barely started: too early to judge, a typical job's remainder.
    job_state.heartbeat(db_session, job_id=job.id, worker_id="w", progress=0.01)
    backlog = estimator.backlog(db_session, now=started + timedelta(seconds=5))
    assert backlog.running_remaining_s == pytest.approx((60.0 * 0.99,))


def test_more_work_readers_add_their_units() -> None:
    # Chunk tasks (issue 10) come in through another reader: each task is one unit.
    now = datetime(2026, 11, 1, tzinfo=UTC)
    tasks = [WorkItem(running=False, estimate=60.0, progress=0.0, queued_since=now)] * 6
    estimator = WorkEstimator(default_cost=1.5, readers=[lambda _s: tasks])
    backlog = estimator.backlog(_NoHistory(), now=now)  # type: ignore[arg-type]
    assert backlog.queued_jobs == 6 and backlog.queued_work_each_s == (90.0,) * 6


class _NoHistory:
    """A session whose history query finds nothing (the reader above needs no database)."""

    def execute(self, _query: Any) -> Any:
        return self

    def all(self) -> list[Any]:
        return []


@pytest.fixture
def cloudwatch(moto_endpoint: str) -> Any:
    return aws.client("cloudwatch", CommonSettings(aws_endpoint_url=moto_endpoint))


def _message() -> WakeUp:
    return WakeUp()


def test_decisions_are_applied_exported_and_damped(db_session: Session, cloudwatch: Any) -> None:
    broker, dlq, clock = InMemoryBroker(), InMemoryBroker(), Clock()
    for _ in range(12):
        broker.send(_message())
    dlq.send(_message())
    fleet = StaticFleet(1)
    queue_name = f"q-{uuid.uuid4().hex[:8]}"
    controller = Controller(
        reader=SignalReader(broker=broker, dead_letter_broker=dlq,
                            sessions=_sessions(db_session), backend=fleet,
                            estimator=WorkEstimator(), clock=clock),
        autoscaler=Autoscaler(ScalingConfig(min_size=1, max_size=3, messages_per_instance=5,
                                            scale_in_window_s=10.0)),
        backend=fleet,
        interval_s=0.01,
        publisher=CloudWatchPublisher(cloudwatch, namespace="VideoForge",
                                      dimension=("QueueName", queue_name)),
    )

    tick = controller.tick()
    assert (tick.decision.desired, tick.decision.direction, tick.applied) == (3, "out", True)
    assert fleet.history == [3]
    gauge = REGISTRY.get_sample_value
    assert gauge("videoforge_fleet_desired_size") == 3
    assert gauge("videoforge_queue_visible_messages") == 12
    assert gauge("videoforge_dlq_messages") == 1
    assert gauge("videoforge_backlog_per_instance") == 12  # one worker was in service
    metrics = cloudwatch.list_metrics(
        Namespace="VideoForge", MetricName="BacklogPerInstance",
        Dimensions=[{"Name": "QueueName", "Value": queue_name}])["Metrics"]
    assert len(metrics) == 1

    while (delivery := broker.receive()) is not None:
        broker.delete(delivery)
    fleet.busy = 2
    assert controller.tick().decision.direction == "hold"  # low, but not for long yet
    clock.now += 11
    tick = controller.tick()
    assert (tick.decision.desired, tick.decision.direction) == (2, "in")  # 2 are busy
    fleet.busy = 0
    clock.now += 11
    assert controller.tick().decision.desired == 1
    assert fleet.history == [3, 2, 1]


def test_run_ticks_until_stopped(db_session: Session) -> None:
    fleet = StaticFleet(0)
    ticks: list[Tick] = []
    controller = Controller(
        reader=SignalReader(broker=InMemoryBroker(), sessions=_sessions(db_session),
                            backend=fleet, estimator=WorkEstimator()),
        autoscaler=Autoscaler(ScalingConfig(min_size=1, max_size=2)),
        backend=fleet, interval_s=0.01,
        on_tick=lambda t: (ticks.append(t), len(ticks) == 3 and controller.stop()),
    )
    controller.run()
    assert len(ticks) == 3
    assert fleet.history == [1]  # raised to the minimum once, then held


def test_work_policy_sizes_from_the_database(db_session: Session) -> None:
    for _ in range(3):  # 100 s of work each at the default cost; one instance finishes 60 s
        _job(db_session, _video(db_session), estimated_work_s=100.0)
    broker = InMemoryBroker()
    for _ in range(3):
        broker.send(_message())
    fleet = StaticFleet(1)
    controller = Controller(
        reader=SignalReader(broker=broker, sessions=_sessions(db_session), backend=fleet,
                            estimator=WorkEstimator(default_cost=1.0)),
        autoscaler=Autoscaler(ScalingConfig(policy="work", min_size=1, max_size=10,
                                            target_latency_s=60.0, warmup_s=0.0)),
        backend=fleet, interval_s=0.01,
    )
    tick = controller.tick()
    signals = tick.observation.signals
    assert signals.queued_work_s == pytest.approx(300.0)
    # The policy sees the database's fresh per-job view, not only the lagging SQS counts.
    assert signals.queued_jobs == 3 and signals.queued_work_each_s == (100.0, 100.0, 100.0)
    assert tick.decision.desired == 3  # never more instances than jobs
    assert REGISTRY.get_sample_value("videoforge_queued_work_seconds") == pytest.approx(300.0)


def test_fleet_meter_prices_every_instance_second_the_fleet_ran() -> None:
    clock, prices = Clock(), Prices(on_demand_usd_per_hour=0.1, spot_usd_per_hour=0.03)
    meter = FleetMeter(prices, clock=clock)
    sample = REGISTRY.get_sample_value
    before = {p: sample("videoforge_fleet_cost_usd_total", {"pricing": p}) or 0.0
              for p in ("on_demand", "spot")}
    seconds_before = sample("videoforge_fleet_instance_seconds_total") or 0.0
    assert meter.observe(FleetState(desired=2, in_service=2, pending=0, busy=1)) == 0
    clock.now += 30  # 2 instances for 30 s: busy or idle, both are billed
    assert meter.observe(FleetState(desired=5, in_service=2, pending=3, busy=2)) == 60
    clock.now += 30  # 5 for 30 s, launching ones included
    assert meter.observe(FleetState(desired=0, in_service=0, pending=0, busy=0)) == 150
    clock.now += 600
    assert meter.observe(FleetState(desired=0, in_service=0, pending=0, busy=0)) == 0
    assert sample("videoforge_fleet_instance_seconds_total") - seconds_before == 210
    cost = cost_of(instance_seconds=210, prices=prices)
    assert sample("videoforge_fleet_cost_usd_total", {"pricing": "on_demand"}) - before[
        "on_demand"] == pytest.approx(cost.compute_on_demand_usd) == pytest.approx(210 / 3600 * 0.1)
    assert sample("videoforge_fleet_cost_usd_total", {"pricing": "spot"}) - before[
        "spot"] == pytest.approx(cost.compute_spot_usd)
