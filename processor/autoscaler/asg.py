"""The fleet as an EC2 Auto Scaling group.

Workers protect themselves from scale-in while they hold a job (``processor/protection.py``),
so lowering the desired capacity only ever terminates idle instances; the group's
instances with ``ProtectedFromScaleIn`` are the busy ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from common.retry import transient_retry
from processor.autoscaler.backends import FleetState

if TYPE_CHECKING:
    from types_boto3_autoscaling import AutoScalingClient

# Lifecycle states an instance passes through on its way into service
# (Auto Scaling User Guide, "Amazon EC2 Auto Scaling instance lifecycle").
_PENDING_STATES = frozenset({"Pending", "Pending:Wait", "Pending:Proceed", "Warmed:Pending"})
_IN_SERVICE = "InService"


class AsgBackend:
    name = "asg"

    def __init__(self, autoscaling: AutoScalingClient, group_name: str) -> None:
        self.autoscaling = autoscaling
        self.group_name = group_name

    @transient_retry()
    def _group(self) -> dict[str, Any]:
        groups = self.autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[self.group_name]
        )["AutoScalingGroups"]
        if not groups:
            raise LookupError(f"Auto Scaling group {self.group_name!r} does not exist")
        return dict(groups[0])

    def observe(self) -> FleetState:
        group = self._group()
        instances = group.get("Instances", [])
        in_service = [i for i in instances if i["LifecycleState"] == _IN_SERVICE]
        return FleetState(
            desired=int(group["DesiredCapacity"]),
            in_service=len(in_service),
            pending=sum(1 for i in instances if i["LifecycleState"] in _PENDING_STATES),
            busy=sum(1 for i in in_service if i.get("ProtectedFromScaleIn")),
        )

    @transient_retry()
    def set_desired(self, desired: int) -> None:
        # The controller does its own damping; the group's cooldown would only delay it.
        self.autoscaling.set_desired_capacity(
            AutoScalingGroupName=self.group_name, DesiredCapacity=desired, HonorCooldown=False
        )

    def close(self, *, drain: bool = True) -> None:
        pass  # instances outlive the controller
