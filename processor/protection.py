"""Scale-in protection: a busy worker asks its fleet not to remove it.

The autoscaler never terminates a protected instance, so a worker holding a job is not
killed mid-transcode when the fleet shrinks. On EC2 the fleet is an Auto Scaling group;
locally there is nothing to protect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from common import aws
from common.logging import get_logger
from common.retry import transient_retry
from processor.instance_metadata import InstanceMetadata
from processor.settings import ProcessorSettings

if TYPE_CHECKING:
    from types_boto3_autoscaling import AutoScalingClient

log = get_logger(__name__)

class ScaleInProtection(Protocol):
    def protect(self) -> None: ...
    def unprotect(self) -> None: ...


class NoProtection:
    """A fleet of local processes: nothing removes a busy worker."""

    def protect(self) -> None:
        pass

    def unprotect(self) -> None:
        pass


class AutoScalingProtection:
    """``SetInstanceProtection`` for this instance in its EC2 Auto Scaling group.

    Calls only on a change (busy ↔ idle). A failure is logged, never raised: losing
    protection risks one job's progress, stopping the worker would lose more.
    """

    def __init__(self, autoscaling: AutoScalingClient, *, instance_id: str,
                 group_name: str) -> None:
        self.autoscaling = autoscaling
        self.instance_id = instance_id
        self.group_name = group_name
        self._protected: bool | None = None

    @classmethod
    def from_settings(cls, settings: ProcessorSettings) -> AutoScalingProtection:
        autoscaling = aws.client("autoscaling", settings)
        instance_id = settings.instance_id or InstanceMetadata(settings.imds_endpoint).instance_id()
        if not instance_id:
            raise RuntimeError("no instance id from the instance metadata service: not on EC2? "
                               "set VF_INSTANCE_ID, or VF_PROTECTION=none")
        group = settings.autoscaling_group or group_of(autoscaling, instance_id)
        return cls(autoscaling, instance_id=instance_id, group_name=group)

    def protect(self) -> None:
        self._set(True)

    def unprotect(self) -> None:
        self._set(False)

    def _set(self, protected: bool) -> None:
        if self._protected is protected:
            return
        try:
            self._call(protected)
        except Exception as exc:
            log.warning("scale_in_protection_failed", protected=protected, error=str(exc))
            return
        self._protected = protected

    @transient_retry()
    def _call(self, protected: bool) -> None:
        self.autoscaling.set_instance_protection(
            InstanceIds=[self.instance_id],
            AutoScalingGroupName=self.group_name,
            ProtectedFromScaleIn=protected,
        )


def group_of(autoscaling: AutoScalingClient, instance_id: str) -> str:
    found = autoscaling.describe_auto_scaling_instances(InstanceIds=[instance_id])
    instances = found.get("AutoScalingInstances") or []
    if not instances:
        raise RuntimeError(f"instance {instance_id} is not in an Auto Scaling group")
    return str(instances[0]["AutoScalingGroupName"])


def protection_for(settings: ProcessorSettings) -> ScaleInProtection:
    if settings.protection == "autoscaling":
        return AutoScalingProtection.from_settings(settings)
    return NoProtection()
