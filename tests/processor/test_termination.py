"""Termination while busy: the real worker, a fake IMDSv2 server on loopback and a moto
Auto Scaling group.

moto has no RecordLifecycleActionHeartbeat or CompleteLifecycleAction, and terminates an
instance at once rather than holding it in Terminating:Wait; so those two calls are
answered on the client (and recorded), and the fake IMDS reports the target lifecycle
state the moto group implies. Everything else (the group, the instance, scale-in
protection, SQS, PostgreSQL, S3, FFmpeg) is real.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from common import aws
from common.job_state import JobStatus
from common.settings import CommonSettings
from processor.instance_metadata import InstanceMetadata
from processor.job_runner import JobRunner, Outcome
from processor.lifecycle import LifecycleHook
from processor.protection import AutoScalingProtection
from processor.termination import TerminationNotice, TerminationWatch, check
from processor.worker import Worker
from tests.support.imds import FakeImds, group_target_state, serve_imds
from tests.support.worker import Stack, wait_for

WATCH_S = 0.1  # how often the worker reads the fake IMDS
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


# --- the instance metadata reads ------------------------------------------------------

@pytest.fixture
def imds() -> Iterator[FakeImds]:
    with serve_imds() as served:
        yield served


def test_spot_notice_is_read_with_its_deadline(imds: FakeImds) -> None:
    metadata = InstanceMetadata(imds.url)
    assert metadata.spot_interruption() is None  # 404 until one is scheduled
    imds.schedule_spot_interruption(NOW, action="stop")
    notice = metadata.spot_interruption()
    assert notice is not None and (notice.action, notice.time) == ("stop", NOW)
    imds.spot_action = "not json"  # still a notice: assume the full two minutes
    garbled = metadata.spot_interruption()
    assert garbled is not None and garbled.action == "unknown"
    assert 115 < (garbled.time - datetime.now(UTC)).total_seconds() <= 120


def test_one_session_token_until_the_service_refuses_it(imds: FakeImds) -> None:
    metadata = InstanceMetadata(imds.url)
    for _ in range(5):
        assert metadata.instance_id() == imds.instance_id
    assert imds.token_puts == 1
    imds.revoke_tokens()
    assert metadata.instance_id() == imds.instance_id
    assert imds.token_puts == 2


@pytest.mark.parametrize(("state", "leaving"), [
    ("InService", False), ("Terminated", True), ("Warmed:Stopped", True),
    ("Warmed:Hibernated", True), ("Detached", False),
])
def test_target_lifecycle_states_that_end_service(imds: FakeImds, state: str,
                                                  leaving: bool) -> None:
    imds.target_state = lambda: state
    assert InstanceMetadata(imds.url).leaving_auto_scaling_group() is leaving


def test_off_ec2_nothing_is_going() -> None:
    assert check(InstanceMetadata("http://127.0.0.1:9")) is None  # nothing listens there


@pytest.mark.parametrize(("notice", "hook", "within"), [
    # Spot: until the margin before the interruption, never more than the drain time.
    (TerminationNotice("spot", "terminate", NOW + timedelta(seconds=120)), False, 90.0),
    (TerminationNotice("spot", "terminate", NOW + timedelta(seconds=120)), True, 90.0),
    (TerminationNotice("spot", "terminate", NOW + timedelta(seconds=20)), False, 0.0),
    (TerminationNotice("spot", "terminate", NOW + timedelta(hours=1)), False, 300.0),
    # Auto Scaling: a hook holds the instance for the drain; without one, release now.
    (TerminationNotice("autoscaling", "Terminated", None), True, 300.0),
    (TerminationNotice("autoscaling", "Terminated", None), False, 0.0),
])
def test_how_long_the_job_may_still_run(notice: TerminationNotice, hook: bool,
                                        within: float) -> None:
    assert notice.release_within_s(now=NOW, drain_timeout_s=300, release_margin_s=30,
                                   hook=hook) == within


def test_the_watch_reports_a_notice_once_and_a_sooner_one_again(imds: FakeImds) -> None:
    watch = TerminationWatch(InstanceMetadata(imds.url), interval_s=WATCH_S)
    seen: list[TerminationNotice] = []
    assert watch.poll(seen.append) is None
    imds.target_state = lambda: "Terminated"
    watch.poll(seen.append)
    watch.poll(seen.append)
    imds.schedule_spot_interruption(NOW)  # a deadline: sooner than "when we are done"
    watch.poll(seen.append)
    watch.poll(seen.append)
    assert [(n.source, n.deadline) for n in seen] == [("autoscaling", None), ("spot", NOW)]


# --- the real worker against a moto Auto Scaling group --------------------------------

class LifecycleActions:
    """Answers the two lifecycle calls moto lacks, on the real client, and records them
    with the time they were made and what ``observe()`` said then; every other call goes
    to moto."""

    def __init__(self, autoscaling: Any, observe: Callable[[], object] = lambda: None) -> None:
        self.observe = observe
        self.calls: list[tuple[str, float, object]] = []
        for operation in ("RecordLifecycleActionHeartbeat", "CompleteLifecycleAction"):
            autoscaling.meta.events.register(
                f"before-call.auto-scaling.{operation}", self._answer)

    def _answer(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, Any]:
        result = params["body"].get("LifecycleActionResult", "heartbeat")
        self.calls.append((result, time.monotonic(), self.observe()))
        return AWSResponse(None, 200, {}, None), {}


@pytest.fixture
def instance(moto_endpoint: str) -> tuple[Any, str, str]:
    """(autoscaling client, group, instance id): a one-instance group with a termination
    hook, as `videoforge provision --lifecycle-hook` makes it."""
    settings = CommonSettings(aws_endpoint_url=moto_endpoint)
    ec2, autoscaling = aws.client("ec2", settings), aws.client("autoscaling", settings)
    name = f"vf-workers-{uuid.uuid4().hex[:8]}"
    ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={
        "ImageId": "ami-12c6146b", "InstanceType": "t3.medium"})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": name},
        MinSize=0, MaxSize=2, DesiredCapacity=1, AvailabilityZones=["us-east-1a"])
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName=name, LifecycleHookName="drain", HeartbeatTimeout=60,
        LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING", DefaultResult="CONTINUE")
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return autoscaling, name, group["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]


class FleetWorker:
    """A worker as `videoforge worker` builds it on an Auto Scaling instance, running
    ``run()`` in a thread."""

    def __init__(self, stack: Stack, instance: tuple[Any, str, str], imds: FakeImds, *,
                 hook: bool, job_id: str = "", **overrides: Any) -> None:
        autoscaling, group, instance_id = instance
        self.settings = stack.settings.model_copy(update={
            "protection": "autoscaling", "instance_id": instance_id, "autoscaling_group": group,
            "x264_preset": "placebo", "termination_release_margin_s": 1.0, **overrides})
        self.actions = LifecycleActions(
            autoscaling, observe=lambda: job_id and stack.job(job_id).status)
        self.protection = AutoScalingProtection(autoscaling, instance_id=instance_id,
                                                group_name=group)
        lifecycle = LifecycleHook(autoscaling, group_name=group, hook_name="drain",
                                  instance_id=instance_id, heartbeat_interval_s=0.2
                                  ) if hook else None
        runner = JobRunner(self.settings, broker=stack.broker, sessions=stack.sessions,
                           s3=stack.s3)
        self.worker = Worker(self.settings, runner=runner, broker=stack.broker,
                             protection=self.protection, lifecycle=lifecycle,
                             termination=TerminationWatch(InstanceMetadata(imds.url),
                                                          interval_s=WATCH_S))
        self.thread = threading.Thread(target=self.worker.run, kwargs={"max_jobs": 1})
        self.stopped_at: float | None = None

    def start(self) -> FleetWorker:
        self.thread.start()
        return self

    def join(self, timeout: float = 30) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the worker did not stop"


def _protected(autoscaling: Any, instance_id: str) -> bool:
    found = autoscaling.describe_auto_scaling_instances(InstanceIds=[instance_id])
    instances = found["AutoScalingInstances"]
    return bool(instances and instances[0]["ProtectedFromScaleIn"])


def _busy(stack: Stack, job_id: str) -> bool:
    job = stack.job(job_id)
    return job.status == JobStatus.RUNNING and job.progress > 0


def _released_at(stack: Stack, job_id: str) -> float | None:
    return time.monotonic() if stack.job(job_id).status == JobStatus.QUEUED else None


def _busy_fleet_worker(stack: Stack, instance: tuple[Any, str, str], imds: FakeImds,
                       clip: Path, **options: Any) -> tuple[str, FleetWorker]:
    """A fleet worker in the middle of a slow job; returns (job id, worker)."""
    job = stack.submit(clip)
    fleet = FleetWorker(stack, instance, imds, job_id=job.id, **options).start()
    wait_for(lambda: _busy(stack, job.id))
    assert _protected(instance[0], instance[2])
    return job.id, fleet


def _terminate(instance: tuple[Any, str, str]) -> float:
    """A termination that scale-in protection does not stop (a rebalance, an instance
    refresh, an operator): the group lets the busy instance go. Returns when."""
    autoscaling, _, instance_id = instance
    at = time.monotonic()
    autoscaling.terminate_instance_in_auto_scaling_group(
        InstanceId=instance_id, ShouldDecrementDesiredCapacity=True)
    return at


def _released(stack: Stack, job_id: str, fleet: FleetWorker) -> float:
    """When the job was seen back in the queue (within 50 ms); the worker has stopped."""
    released = wait_for(lambda: _released_at(stack, job_id), timeout=10, interval=0.05)
    fleet.join()
    return float(released)


def test_spot_interruption_mid_job_releases_it_in_time_for_another_worker(
        stack: Stack, instance: tuple[Any, str, str], imds: FakeImds,
        long_clip: Path) -> None:
    job_id, fleet = _busy_fleet_worker(stack, instance, imds, long_clip, hook=False)

    # Two minutes in production; here 4 s, with the job released 1 s ahead.
    goes_at = time.monotonic() + 4
    imds.schedule_spot_interruption(datetime.now(UTC) + timedelta(seconds=4))
    released = _released(stack, job_id, fleet)

    assert released < goes_at  # handed back while the instance still runs
    assert released > goes_at - 3  # the job had until the margin to finish
    back = stack.job(job_id)
    assert back.status == JobStatus.QUEUED and back.worker_id is None
    assert not _protected(instance[0], instance[2])
    # Another worker takes it over at once (its message is visible again) and finishes it.
    assert stack.worker().step(wait_s=1) == Outcome.SUCCEEDED
    done = stack.job(job_id)
    assert done.status == JobStatus.SUCCEEDED and done.attempts == 2


def test_auto_scaling_termination_mid_job_heartbeats_the_hook_while_draining(
        stack: Stack, instance: tuple[Any, str, str], imds: FakeImds,
        long_clip: Path) -> None:
    imds.target_state = group_target_state(instance[0], instance[2])
    # The hook holds the instance: the job gets the drain time (short here), then goes back.
    job_id, fleet = _busy_fleet_worker(stack, instance, imds, long_clip, hook=True,
                                       drain_timeout_s=1.5)
    noticed = _terminate(instance)
    released = _released(stack, job_id, fleet)

    # Beats every 0.2 s while the job drains, then CONTINUE once it is back in the queue.
    calls = [(call, status) for call, _, status in fleet.actions.calls]
    beats = [status for call, status in calls if call == "heartbeat"]
    assert beats.count(JobStatus.RUNNING) >= 3 and beats[0] == JobStatus.RUNNING
    assert calls[-1] == ("CONTINUE", JobStatus.QUEUED)
    assert "CONTINUE" not in [call for call, _ in calls[:-1]]
    assert fleet.actions.calls[0][1] > noticed
    assert 1.0 < released - noticed < 5  # the drain time, then the release
    assert stack.job(job_id).status == JobStatus.QUEUED
    assert stack.worker().step(wait_s=1) == Outcome.SUCCEEDED


def test_auto_scaling_termination_without_a_hook_releases_at_once(
        stack: Stack, instance: tuple[Any, str, str], imds: FakeImds,
        long_clip: Path) -> None:
    imds.target_state = group_target_state(instance[0], instance[2])
    job_id, fleet = _busy_fleet_worker(stack, instance, imds, long_clip, hook=False)
    noticed = _terminate(instance)
    released = _released(stack, job_id, fleet)

    assert released - noticed < 2.5  # nothing holds the instance: no drain at all
    assert fleet.actions.calls == []  # no hook to beat
    assert stack.worker().step(wait_s=1) == Outcome.SUCCEEDED


def test_a_worker_on_a_terminating_instance_takes_no_job(
        stack: Stack, instance: tuple[Any, str, str], imds: FakeImds,
        long_clip: Path) -> None:
    # systemd restarts the worker after a drain; on a going instance it must stay idle.
    job = stack.submit(long_clip)
    imds.schedule_spot_interruption(datetime.now(UTC) + timedelta(seconds=90))
    fleet = FleetWorker(stack, instance, imds, hook=False).start()
    fleet.join(timeout=10)

    untouched = stack.job(job.id)
    assert untouched.status == JobStatus.QUEUED and untouched.attempts == 0
    assert stack.broker.counts().visible == 1


def test_a_message_received_while_draining_is_handed_back(stack: Stack,
                                                          long_clip: Path) -> None:
    job = stack.submit(long_clip)
    worker = stack.worker(drain_timeout_s=60)
    worker.request_shutdown()  # e.g. a notice came in during the long poll
    assert worker.step(wait_s=1) is None
    assert stack.job(job.id).attempts == 0
    again = stack.broker.receive(wait_s=1)  # visible again at once
    assert again is not None and again.token().reason == "submitted"


def test_a_sooner_deadline_shortens_a_drain_already_under_way(stack: Stack,
                                                              long_clip: Path) -> None:
    job = stack.submit(long_clip)
    worker = stack.worker(x264_preset="placebo", drain_timeout_s=600)
    thread = threading.Thread(target=worker.run, kwargs={"max_jobs": 1})
    thread.start()
    wait_for(lambda: _busy(stack, job.id))
    worker.request_shutdown()  # SIGTERM: ten minutes to finish...
    asked = time.monotonic()
    worker.on_termination(TerminationNotice(  # ...then a spot notice: 1.5 s left
        "spot", "terminate", datetime.now(UTC) + timedelta(seconds=2.5)))
    released = wait_for(lambda: _released_at(stack, job.id), timeout=10, interval=0.05)
    thread.join(10)
    assert not thread.is_alive() and released - asked < 2.5
