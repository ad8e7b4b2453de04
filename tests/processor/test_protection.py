"""Scale-in protection against a real (moto) EC2 Auto Scaling group."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from common import aws
from common.settings import CommonSettings
from processor.instance_metadata import InstanceMetadata
from processor.protection import (
    AutoScalingProtection,
    NoProtection,
    protection_for,
)
from processor.settings import ProcessorSettings
from tests.support.aws_resources import AwsResources
from tests.support.worker import Stack, worker_settings


@pytest.fixture
def group(moto_endpoint: str) -> tuple[Any, str, str]:
    """An Auto Scaling group of one instance: (autoscaling client, group name, instance id)."""
    settings = CommonSettings(aws_endpoint_url=moto_endpoint)
    ec2, autoscaling = aws.client("ec2", settings), aws.client("autoscaling", settings)
    name = f"vf-workers-{uuid.uuid4().hex[:8]}"
    ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"},
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": name},
        MinSize=1, MaxSize=2, DesiredCapacity=1, AvailabilityZones=["us-east-1a"],
    )
    instances = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]
    return autoscaling, name, instances[0]["InstanceId"]


def _protected(autoscaling: Any, instance_id: str) -> bool:
    found = autoscaling.describe_auto_scaling_instances(InstanceIds=[instance_id])
    return bool(found["AutoScalingInstances"][0]["ProtectedFromScaleIn"])


def test_busy_instance_is_protected_and_idle_one_is_not(group: tuple[Any, str, str],
                                                       moto_endpoint: str) -> None:
    autoscaling, name, instance_id = group
    settings = ProcessorSettings(aws_endpoint_url=moto_endpoint, protection="autoscaling",
                                 instance_id=instance_id)  # the group is looked up
    protection = protection_for(settings)
    assert isinstance(protection, AutoScalingProtection) and protection.group_name == name
    protection.protect()
    assert _protected(autoscaling, instance_id)
    protection.unprotect()
    assert not _protected(autoscaling, instance_id)


def test_a_failing_call_is_logged_not_raised(moto_endpoint: str) -> None:
    autoscaling = aws.client("autoscaling", CommonSettings(aws_endpoint_url=moto_endpoint))
    protection = AutoScalingProtection(autoscaling, instance_id="i-0000",
                                       group_name="no-such-group")
    protection.protect()  # moto answers an error: the worker carries on


def test_instance_id_comes_from_imdsv2(moto_endpoint: str) -> None:
    # The moto server also serves the instance metadata endpoints (token, then GET).
    assert (InstanceMetadata(moto_endpoint).instance_id() or "").startswith("i-")


def test_local_fleets_need_no_protection() -> None:
    assert isinstance(protection_for(ProcessorSettings()), NoProtection)


def test_the_worker_is_protected_while_it_holds_a_job(
        group: tuple[Any, str, str], aws_resources: AwsResources, clean_database: str,
        clip: Callable[[str], Path]) -> None:
    autoscaling, name, instance_id = group
    stack = Stack(worker_settings(aws_resources, clean_database), aws_resources)
    worker = stack.worker()
    worker.protection = AutoScalingProtection(autoscaling, instance_id=instance_id,
                                              group_name=name)
    stack.submit(clip("text"))  # a quick job: it fails at once, as bad input

    assert worker.step() is not None
    assert _protected(autoscaling, instance_id)  # busy until a poll finds nothing
    assert worker.step(wait_s=0) is None
    assert not _protected(autoscaling, instance_id)
