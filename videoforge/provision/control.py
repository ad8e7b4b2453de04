"""The control group: instances of the control image (ansible/control.yml) that run the
migrations, the autoscaler and the webhook notifier.

A group of its own rather than a place on the gateways: the gateways scale with traffic and
are replaced by their load balancer's health check, while the autoscaler must run exactly
once; and the notifier, which connects to addresses users register, stays off the
internet-facing instances. One instance by default (an Auto Scaling group of one replaces it
when it fails); more are safe, since migrations and the autoscaler take a lock in the
database (``videoforge singleton``) and notifiers share their work by design, so a second
instance is a warm standby for the autoscaler and a second notifier.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from videoforge.provision.fleet import FleetSpec, ensure_fleet
from videoforge.provision.results import Result

# Packer names the control image videoforge-control-<timestamp> (packer/images.pkr.hcl).
AMI_NAME_PATTERN = "videoforge-control-*"


@dataclass(frozen=True)
class ControlSpec:
    fleet: FleetSpec = FleetSpec(group_name="videoforge-control",
                                 template_name="videoforge-control",
                                 ami_pattern=AMI_NAME_PATTERN, instance_type="t3.small",
                                 min_size=1, max_size=1, desired=1)


def ensure_control(ec2: Any, autoscaling: Any, spec: ControlSpec, *, security_group: str
                   ) -> tuple[list[Result], dict[str, str]]:
    fleet = replace(spec.fleet, security_group_ids=(security_group,))
    results, outputs = ensure_fleet(ec2, autoscaling, fleet)
    return results, {"control_auto_scaling_group": fleet.group_name,
                     "control_launch_template_id": outputs["launch_template_id"],
                     "control_ami_id": outputs["ami_id"]}
