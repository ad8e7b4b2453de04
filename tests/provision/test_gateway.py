"""The gateway's load balancer, target group, health check, security groups and its own
Auto Scaling group, read back from moto; a second run changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.provisioning import provision_json


def _args(names: dict[str, str], *extra: str) -> list[str]:
    return ["--user-pool-name", names["pool"], "--name-prefix", names["prefix"],
            "--with-fleet", "--ami-id", "ami-12345678", "--with-gateway",
            "--gateway-ami-id", "ami-87654321", *extra]


def test_gateway_behind_its_load_balancer(names: dict[str, str], client: Any,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    first = provision_json(capsys, *_args(names))
    name = f"{names['prefix']}-gateway"
    elb, autoscaling, ec2 = client("elbv2"), client("autoscaling"), client("ec2")
    kinds = {r["kind"] for r in first["resources"]}
    assert {"load balancer", "target group", "listener", "security group"} <= kinds

    balancer = elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    assert balancer["Scheme"] == "internet-facing" and balancer["Type"] == "application"
    assert first["outputs"]["load_balancer_url"] == f"http://{balancer['DNSName']}"
    group = elb.describe_target_groups(Names=[name])["TargetGroups"][0]
    assert (group["Protocol"], group["Port"], group["HealthCheckPath"]) == ("HTTP", 8000,
                                                                            "/healthz")
    assert group["HealthyThresholdCount"] == 2 and group["UnhealthyThresholdCount"] == 3
    attributes = {a["Key"]: a["Value"] for a in elb.describe_target_group_attributes(
        TargetGroupArn=group["TargetGroupArn"])["Attributes"]}
    assert attributes["deregistration_delay.timeout_seconds"] == "30"
    (listener,) = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])[
        "Listeners"]
    assert listener["Port"] == 80
    assert listener["DefaultActions"][0]["TargetGroupArn"] == group["TargetGroupArn"]

    fleet = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"][0]
    assert fleet["TargetGroupARNs"] == [group["TargetGroupArn"]]
    assert fleet["HealthCheckType"] == "ELB" and fleet["HealthCheckGracePeriod"] == 120
    assert (fleet["MinSize"], fleet["MaxSize"]) == (2, 4)
    template = ec2.describe_launch_template_versions(
        LaunchTemplateName=name, Versions=["$Default"])["LaunchTemplateVersions"][0][
        "LaunchTemplateData"]
    assert template["ImageId"] == "ami-87654321"
    assert template["IamInstanceProfile"] == {"Name": name}
    assert template["MetadataOptions"]["HttpTokens"] == "required"
    (instances_group,) = template["SecurityGroupIds"]
    rules = ec2.describe_security_groups(GroupIds=[instances_group])["SecurityGroups"][0][
        "IpPermissions"]
    sources = {r["FromPort"]: [p["GroupId"] for p in r["UserIdGroupPairs"]] for r in rules}
    # Only the balancer reaches the gateway's port; only the monitoring host its metrics.
    monitoring = first["outputs"]["monitoring_security_group"]
    assert sources == {8000: balancer["SecurityGroups"], 9104: [monitoring], 9100: [monitoring]}
    assert all(not r.get("IpRanges") for r in rules)

    # The worker group is still the worker's, with its own template and image.
    workers = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[names["VF_AUTOSCALER_ASG_NAME"]])["AutoScalingGroups"][0]
    assert workers["TargetGroupARNs"] == []
    assert first["outputs"]["ami_id"] == "ami-12345678"

    second = provision_json(capsys, *_args(names))
    assert not second["changed"], [r for r in second["resources"] if r["outcome"] != "unchanged"]


def test_https_with_a_certificate_redirects_http(names: dict[str, str], client: Any,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    acm = client("acm")
    certificate = acm.request_certificate(DomainName="videos.example")["CertificateArn"]
    report = provision_json(capsys, *_args(names, "--certificate-arn", certificate))
    assert report["outputs"]["load_balancer_url"].startswith("https://")
    elb = client("elbv2")
    balancer = elb.describe_load_balancers(Names=[f"{names['prefix']}-gateway"])[
        "LoadBalancers"][0]
    listeners = {listener["Port"]: listener for listener in elb.describe_listeners(
        LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]}
    assert listeners[443]["Protocol"] == "HTTPS"
    assert listeners[443]["Certificates"][0]["CertificateArn"] == certificate
    assert listeners[80]["DefaultActions"][0]["Type"] == "redirect"
    assert not provision_json(capsys, *_args(names, "--certificate-arn",
                                             certificate))["changed"]
