"""An Auto Scaling group in moto, for the autoscaler's ASG backend and command."""

from __future__ import annotations

import uuid

from common import aws
from common.settings import CommonSettings

# moto launches instances from any image id (listing its ~1300 images takes seconds).
TEST_AMI = "ami-12345678"


def create_group(moto_endpoint: str, desired: int = 1) -> str:
    """An Auto Scaling group (0..5 instances) in moto; returns its name."""
    settings = CommonSettings(aws_endpoint_url=moto_endpoint)
    ec2, autoscaling = aws.client("ec2", settings), aws.client("autoscaling", settings)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    name = f"vf-workers-{uuid.uuid4().hex[:8]}"
    ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={"ImageId": TEST_AMI, "InstanceType": "t3.medium"})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=0, MaxSize=5, DesiredCapacity=desired,
        LaunchTemplate={"LaunchTemplateName": name}, VPCZoneIdentifier=subnet,
    )
    return name
