"""The EC2 Auto Scaling backend against the moto server."""

from __future__ import annotations

from typing import Any

import pytest

from common import aws
from common.settings import CommonSettings
from processor.autoscaler.asg import AsgBackend
from tests.support.autoscaling import create_group


@pytest.fixture
def autoscaling(moto_endpoint: str) -> Any:
    return aws.client("autoscaling", CommonSettings(aws_endpoint_url=moto_endpoint))


@pytest.fixture
def group(moto_endpoint: str) -> str:
    return create_group(moto_endpoint)


def _instances(autoscaling: Any, name: str) -> list[dict[str, Any]]:
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return list(groups["AutoScalingGroups"][0]["Instances"])


def test_observe_and_set_desired(autoscaling: Any, group: str) -> None:
    backend = AsgBackend(autoscaling, group)
    state = backend.observe()
    assert (state.desired, state.in_service, state.pending, state.busy) == (1, 1, 0, 0)

    backend.set_desired(3)
    state = backend.observe()
    assert (state.desired, state.in_service) == (3, 3)
    assert len(_instances(autoscaling, group)) == 3


def test_scale_in_never_removes_a_protected_busy_instance(autoscaling: Any, group: str) -> None:
    backend = AsgBackend(autoscaling, group)
    backend.set_desired(3)
    instances = [i["InstanceId"] for i in _instances(autoscaling, group)]
    # Protect the instance the group would otherwise remove first, as a busy worker does.
    busy = instances[0]
    autoscaling.set_instance_protection(AutoScalingGroupName=group, InstanceIds=[busy],
                                        ProtectedFromScaleIn=True)
    assert backend.observe().busy == 1

    backend.set_desired(1)
    remaining = [i["InstanceId"] for i in _instances(autoscaling, group)]
    assert remaining == [busy]
    state = backend.observe()
    assert (state.desired, state.in_service, state.busy) == (1, 1, 1)


def test_missing_group_is_a_clear_error(autoscaling: Any) -> None:
    with pytest.raises(LookupError, match="does not exist"):
        AsgBackend(autoscaling, "no-such-group").observe()
