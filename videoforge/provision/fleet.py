"""The worker fleet: a launch template (the baked worker AMI, IMDSv2 only) and the Auto
Scaling group that ``videoforge autoscaler --backend asg`` sizes, with an optional
termination lifecycle hook so a terminating worker can finish its job."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from videoforge.provision.results import Changes, ProvisionError, Result, error_code

# Packer names the worker AMI videoforge-worker-<timestamp> (packer/images.pkr.hcl).
AMI_NAME_PATTERN = "videoforge-worker-*"
# The lifecycle hook waits this long without a heartbeat (the worker beats every 60 s),
# within the API's 30..7200 s range.
HOOK_HEARTBEAT_TIMEOUT_S = 300


@dataclass(frozen=True)
class FleetSpec:
    group_name: str = "videoforge-workers"
    template_name: str = "videoforge-worker"
    ami_id: str | None = None
    instance_type: str = "t3.medium"
    subnet_ids: tuple[str, ...] = ()
    instance_profile: str | None = None
    user_data: str | None = None
    min_size: int = 1
    max_size: int = 3
    desired: int = 1
    lifecycle_hook: str | None = None   # name of the termination hook; None: no hook
    tags: dict[str, str] = field(default_factory=lambda: {"Application": "videoforge"})
    security_group_ids: tuple[str, ...] = ()
    target_group_arns: tuple[str, ...] = ()   # a load balancer's: ELB health checks too
    ami_pattern: str = "videoforge-worker-*"
    # Seconds after launch before a failing ELB health check replaces an instance.
    health_check_grace_s: int = 300

    def validate(self) -> None:
        if not 0 <= self.min_size <= self.desired <= self.max_size:
            raise ProvisionError(
                f"need 0 <= min <= desired <= max, got {self.min_size}/{self.desired}/"
                f"{self.max_size}", exit_code=2)


def find_ami(ec2: Any, ami_id: str | None, pattern: str = AMI_NAME_PATTERN) -> str:
    if ami_id:
        return ami_id
    images = ec2.describe_images(Owners=["self"],
                                 Filters=[{"Name": "name", "Values": [pattern]}])
    images = sorted(images.get("Images", []), key=lambda i: i.get("CreationDate", ""))
    if not images:
        raise ProvisionError(f"no AMI named {pattern} in this account: bake one "
                             "with `make ami` or pass its id", exit_code=2)
    return str(images[-1]["ImageId"])


def find_subnets(ec2: Any, subnet_ids: Sequence[str]) -> list[str]:
    if subnet_ids:
        return list(subnet_ids)
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}]).get("Subnets", [])
    if not subnets:
        raise ProvisionError("no default VPC subnets in this region: pass --subnet-ids",
                             exit_code=2)
    return sorted(s["SubnetId"] for s in subnets)


def template_data(spec: FleetSpec, ami_id: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ImageId": ami_id,
        "InstanceType": spec.instance_type,
        # IMDSv2 only; a hop limit of 1 keeps the credentials away from containers.
        "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled",
                            "HttpPutResponseHopLimit": 1},
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [
            {"Key": "Name", "Value": spec.template_name},
            *({"Key": k, "Value": v} for k, v in sorted(spec.tags.items()))]}],
    }
    if spec.instance_profile:
        data["IamInstanceProfile"] = {"Name": spec.instance_profile}
    if spec.security_group_ids:
        data["SecurityGroupIds"] = list(spec.security_group_ids)
    if spec.user_data:
        data["UserData"] = base64.b64encode(spec.user_data.encode()).decode()
    return data


def _norm_template(data: dict[str, Any]) -> dict[str, Any]:
    metadata = data.get("MetadataOptions") or {}
    return {
        "ImageId": data.get("ImageId"),
        "InstanceType": data.get("InstanceType"),
        "HttpTokens": metadata.get("HttpTokens"),
        "HopLimit": metadata.get("HttpPutResponseHopLimit"),
        "Profile": (data.get("IamInstanceProfile") or {}).get("Name"),
        "UserData": data.get("UserData"),
        "SecurityGroups": sorted(data.get("SecurityGroupIds") or []),
    }


def ensure_launch_template(ec2: Any, spec: FleetSpec, ami_id: str) -> tuple[Result, str]:
    changes = Changes("launch template", spec.template_name)
    data = template_data(spec, ami_id)
    try:
        template = ec2.describe_launch_templates(
            LaunchTemplateNames=[spec.template_name])["LaunchTemplates"][0]
    except ClientError as exc:
        if "NotFound" not in error_code(exc):
            raise
        template = ec2.create_launch_template(
            LaunchTemplateName=spec.template_name, LaunchTemplateData=data)["LaunchTemplate"]
        changes.created = True
    template_id = str(template["LaunchTemplateId"])
    current = ec2.describe_launch_template_versions(
        LaunchTemplateId=template_id, Versions=["$Default"])["LaunchTemplateVersions"][0]

    def new_default_version() -> None:
        version = ec2.create_launch_template_version(
            LaunchTemplateId=template_id, LaunchTemplateData=data,
            VersionDescription="videoforge provision")["LaunchTemplateVersion"]
        ec2.modify_launch_template(LaunchTemplateId=template_id,
                                   DefaultVersion=str(version["VersionNumber"]))

    changes.converge("version", _norm_template(current["LaunchTemplateData"]),
                     _norm_template(data), new_default_version)
    return changes.result(id=template_id), template_id


def ensure_group(autoscaling: Any, spec: FleetSpec, template_id: str,
                 subnets: Sequence[str]) -> Result:
    changes = Changes("auto scaling group", spec.group_name)
    # "$Default": instances launched after a template update use the new version.
    template = {"LaunchTemplateId": template_id, "Version": "$Default"}
    zone = ",".join(subnets)
    groups = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[spec.group_name])["AutoScalingGroups"]
    if not groups:
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=spec.group_name, LaunchTemplate=template,
            MinSize=spec.min_size, MaxSize=spec.max_size, DesiredCapacity=spec.desired,
            VPCZoneIdentifier=zone, NewInstancesProtectedFromScaleIn=False,
            Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True}
                  for k, v in sorted(spec.tags.items())],
            **_balancing(spec),
        )
        changes.created = True
        return changes.result()
    group = groups[0]
    current = {
        "size": (group["MinSize"], group["MaxSize"]),
        "launch template": (group.get("LaunchTemplate") or {}).get("LaunchTemplateId"),
        "subnets": sorted(filter(None, (group.get("VPCZoneIdentifier") or "").split(","))),
        "health check": (group.get("HealthCheckType"), group.get("HealthCheckGracePeriod"))
        if spec.target_group_arns else None,
        "target groups": sorted(group.get("TargetGroupARNs") or []),
    }
    desired = {"size": (spec.min_size, spec.max_size), "launch template": template_id,
               "subnets": sorted(subnets),
               "health check": ("ELB", spec.health_check_grace_s)
               if spec.target_group_arns else None,
               "target groups": sorted(spec.target_group_arns)}
    differing = [k for k in desired if current[k] != desired[k]]
    if differing:
        # Never the desired capacity: the autoscaler owns it once the group exists.
        balancing = _balancing(spec)
        autoscaling.update_auto_scaling_group(
            AutoScalingGroupName=spec.group_name, LaunchTemplate=template,
            MinSize=spec.min_size, MaxSize=spec.max_size, VPCZoneIdentifier=zone,
            **{k: v for k, v in balancing.items() if k != "TargetGroupARNs"})
        if "target groups" in differing and spec.target_group_arns:
            autoscaling.attach_load_balancer_target_groups(
                AutoScalingGroupName=spec.group_name,
                TargetGroupARNs=list(spec.target_group_arns))
        changes.note(*differing)
    return changes.result(id=group.get("AutoScalingGroupARN"))


def _balancing(spec: FleetSpec) -> dict[str, Any]:
    """Behind a load balancer: registered in its target groups, replaced when its health
    check fails (not only when EC2 says the instance is down)."""
    if not spec.target_group_arns:
        return {}
    return {"TargetGroupARNs": list(spec.target_group_arns), "HealthCheckType": "ELB",
            "HealthCheckGracePeriod": spec.health_check_grace_s}


def ensure_lifecycle_hook(autoscaling: Any, spec: FleetSpec) -> Result | None:
    if not spec.lifecycle_hook:
        return None
    changes = Changes("lifecycle hook", spec.lifecycle_hook)
    hooks = autoscaling.describe_lifecycle_hooks(
        AutoScalingGroupName=spec.group_name,
        LifecycleHookNames=[spec.lifecycle_hook])["LifecycleHooks"]
    desired = ("autoscaling:EC2_INSTANCE_TERMINATING", HOOK_HEARTBEAT_TIMEOUT_S, "CONTINUE")
    current = (hooks[0]["LifecycleTransition"], hooks[0]["HeartbeatTimeout"],
               hooks[0]["DefaultResult"]) if hooks else None
    changes.created = not hooks
    changes.converge("settings", current, desired, lambda: autoscaling.put_lifecycle_hook(
        AutoScalingGroupName=spec.group_name, LifecycleHookName=spec.lifecycle_hook,
        LifecycleTransition=desired[0], HeartbeatTimeout=desired[1], DefaultResult=desired[2]))
    return changes.result()


def ensure_fleet(
    ec2: Any, autoscaling: Any, spec: FleetSpec
) -> tuple[list[Result], dict[str, str]]:
    spec.validate()
    ami_id = find_ami(ec2, spec.ami_id, spec.ami_pattern)
    subnets = find_subnets(ec2, spec.subnet_ids)
    template_result, template_id = ensure_launch_template(ec2, spec, ami_id)
    results = [template_result, ensure_group(autoscaling, spec, template_id, subnets)]
    if hook := ensure_lifecycle_hook(autoscaling, spec):
        results.append(hook)
    outputs = {"launch_template_id": template_id, "ami_id": ami_id,
               "auto_scaling_group": spec.group_name, "subnets": ",".join(subnets)}
    if spec.lifecycle_hook:
        outputs["lifecycle_hook"] = spec.lifecycle_hook
    return results, outputs
