"""The termination lifecycle hook helper.

moto implements lifecycle hooks but not RecordLifecycleActionHeartbeat or
CompleteLifecycleAction, so the calls are checked against the real API model with
botocore's Stubber (tests/processor/test_termination.py drives the hook from a busy worker).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.stub import Stubber

from common import aws
from common.settings import CommonSettings
from processor.instance_metadata import InstanceMetadata
from processor.job_runner import JobRunner
from processor.lifecycle import LifecycleHook
from processor.termination import TerminationWatch
from processor.worker import Worker
from tests.support.aws_resources import AwsResources
from tests.support.imds import serve_imds
from tests.support.worker import Stack, worker_settings

KEY = {"AutoScalingGroupName": "workers", "LifecycleHookName": "drain",
       "InstanceId": "i-0123456789abcdef0"}


@pytest.fixture
def autoscaling() -> Any:
    return aws.client("autoscaling", CommonSettings())


def test_calls_match_the_api(autoscaling: Any) -> None:
    hook = LifecycleHook(autoscaling, group_name="workers", hook_name="drain",
                         instance_id=KEY["InstanceId"])
    with Stubber(autoscaling) as stub:
        stub.add_response("record_lifecycle_action_heartbeat", {}, KEY)
        stub.add_response("complete_lifecycle_action", {},
                          {**KEY, "LifecycleActionResult": "CONTINUE"})
        assert hook.heartbeat() and hook.complete()
        stub.assert_no_pending_responses()


class _Recorder:
    """Stands in for the Auto Scaling client to record the order of calls over time."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.beats = threading.Semaphore(0)

    def record_lifecycle_action_heartbeat(self, **_: Any) -> None:
        self.calls.append("heartbeat")
        self.beats.release()

    def complete_lifecycle_action(self, *, LifecycleActionResult: str, **_: Any) -> None:
        self.calls.append(LifecycleActionResult)


def test_draining_heartbeats_then_continues() -> None:
    client = _Recorder()
    hook = LifecycleHook(client, group_name="workers", hook_name="drain",
                         instance_id=KEY["InstanceId"], heartbeat_interval_s=0.02)
    hook.begin_drain()
    for _ in range(3):  # the job drains across several heartbeats
        assert client.beats.acquire(timeout=5)
    hook.end_drain()
    assert client.calls[-1] == "CONTINUE"
    assert client.calls.count("heartbeat") >= 3 and "CONTINUE" not in client.calls[:-1]


def test_missing_lifecycle_action_is_not_fatal(autoscaling: Any) -> None:
    hook = LifecycleHook(autoscaling, group_name="workers", hook_name="drain",
                         instance_id=KEY["InstanceId"])
    with Stubber(autoscaling) as stub:
        stub.add_client_error("record_lifecycle_action_heartbeat", "ValidationError",
                              "No active Lifecycle Action found with instance ID")
        stub.add_client_error("complete_lifecycle_action", "ValidationError",
                              "No active Lifecycle Action found with instance ID")
        assert hook.heartbeat() is False
        assert hook.complete() is False
        stub.assert_no_pending_responses()


def test_begin_and_end_drain_around_a_job() -> None:
    client = _Recorder()
    hook = LifecycleHook(client, group_name="workers", hook_name="drain",
                         instance_id=KEY["InstanceId"], heartbeat_interval_s=60)
    hook.begin_drain()
    hook.begin_drain()  # a second shutdown request starts no second heart-beater
    assert client.beats.acquire(timeout=5)
    hook.end_drain()
    assert client.calls == ["heartbeat", "CONTINUE"]


def test_idle_worker_being_terminated_drains_through_the_hook(
    aws_resources: AwsResources, clean_database: str
) -> None:
    stack = Stack(worker_settings(aws_resources, clean_database), aws_resources)
    client = _Recorder()
    hook = LifecycleHook(client, group_name="workers", hook_name="drain",
                         instance_id=KEY["InstanceId"], heartbeat_interval_s=60)
    with serve_imds() as imds:
        runner = JobRunner(stack.settings, broker=stack.broker, sessions=stack.sessions,
                           s3=stack.s3)
        worker = Worker(stack.settings, runner=runner, broker=stack.broker, lifecycle=hook,
                        termination=TerminationWatch(InstanceMetadata(imds.url),
                                                     interval_s=0.1))
        imds.target_state = lambda: "Terminated"
        # The first look, before any poll, finds the termination: stop receiving, beat,
        # then let the instance go.
        assert worker.run() == 0
    assert client.calls == ["heartbeat", "CONTINUE"]
