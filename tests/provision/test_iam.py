"""IAM roles and instance profiles read back from moto: each role trusts only its service,
carries only its own least-privilege policy, and the workers launch with theirs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.provisioning import provision_json

ACCOUNT = "123456789012"  # moto's


def _policy(iam: Any, role: str) -> dict[str, Any]:
    document = iam.get_role_policy(RoleName=role, PolicyName="videoforge")["PolicyDocument"]
    return {s["Sid"]: s for s in document["Statement"]}


def _args(names: dict[str, str]) -> list[str]:
    return ["--user-pool-name", names["pool"], "--name-prefix", names["prefix"],
            "--with-fleet", "--ami-id", "ami-12345678", "--lifecycle-hook", "drain"]


def test_roles_profiles_and_the_launch_template(names: dict[str, str], client: Any,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    first = provision_json(capsys, *_args(names))
    prefix, iam = names["prefix"], client("iam")
    roles = {r["name"]: r["outcome"] for r in first["resources"] if r["kind"] == "iam role"}
    assert roles == {f"{prefix}-{k}": "created" for k in (
        "worker", "controller", "gateway", "gallery", "streaming", "monitoring")}
    for key, principal in (("worker", "ec2"), ("controller", "ec2"), ("gateway", "ec2"),
                           ("gallery", "lambda"), ("streaming", "lambda"),
                           ("monitoring", "ec2")):
        trust = iam.get_role(RoleName=f"{prefix}-{key}")["Role"]["AssumeRolePolicyDocument"]
        assert trust["Statement"] == [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                       "Principal": {"Service": f"{principal}.amazonaws.com"}}]
    for key in ("worker", "controller", "gateway", "monitoring"):
        profile = iam.get_instance_profile(InstanceProfileName=f"{prefix}-{key}")
        assert [r["RoleName"] for r in profile["InstanceProfile"]["Roles"]] == [f"{prefix}-{key}"]
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_instance_profile(InstanceProfileName=f"{prefix}-gallery")

    template = client("ec2").describe_launch_template_versions(
        LaunchTemplateName=names["VF_AUTOSCALER_ASG_NAME"],
        Versions=["$Default"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert template["IamInstanceProfile"] == {"Name": f"{prefix}-worker"}

    second = provision_json(capsys, *_args(names))
    assert not second["changed"], [r for r in second["resources"] if r["outcome"] != "unchanged"]


def test_the_worker_may_do_its_job_and_no_more(names: dict[str, str], client: Any,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    provision_json(capsys, *_args(names))
    policy = _policy(client("iam"), f"{names['prefix']}-worker")
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{names['VF_JOBS_QUEUE_NAME']}"
    dlq = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{names['VF_DEAD_LETTER_QUEUE_NAME']}"
    group = (f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:autoScalingGroup:*:"
             f"autoScalingGroupName/{names['VF_AUTOSCALER_ASG_NAME']}")
    assert policy["Jobs"]["Resource"] == [queue, dlq]
    assert "sqs:DeleteQueue" not in policy["Jobs"]["Action"]
    assert policy["ReadSources"] == {
        "Sid": "ReadSources", "Effect": "Allow", "Action": ["s3:GetObject"],
        "Resource": f"arn:aws:s3:::{names['VF_UPLOADS_BUCKET']}/uploads/*"}
    assert policy["WriteOutputs"]["Resource"] == f"arn:aws:s3:::{names['VF_MEDIA_BUCKET']}/videos/*"
    assert policy["ListOutputs"]["Condition"] == {"StringLike": {"s3:prefix": ["videos/*"]}}
    assert policy["Lifecycle"]["Action"] == ["autoscaling:CompleteLifecycleAction",
                                             "autoscaling:RecordLifecycleActionHeartbeat",
                                             "autoscaling:SetInstanceProtection"]
    assert policy["Lifecycle"]["Resource"] == group
    assert policy["FindOwnGroup"]["Action"] == ["autoscaling:DescribeAutoScalingInstances"]
    assert policy["PutMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "VideoForge"}}
    assert "UseBucketKey" not in policy  # no KMS key given
    everything = [a for s in policy.values() for a in s["Action"]]
    assert not [a for a in everything if a.endswith(":*") or a == "*"]


def test_each_role_touches_only_its_own_things(names: dict[str, str], client: Any,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    provision_json(capsys, *_args(names))
    iam, prefix = client("iam"), names["prefix"]
    streaming = _policy(iam, f"{prefix}-streaming")
    assert set(streaming) == {"ReadOutputs", "WriteLogs", "NetworkInterfaces"}
    assert streaming["ReadOutputs"]["Action"] == ["s3:GetObject"]
    assert streaming["WriteLogs"]["Resource"] == (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/{prefix}-streaming:*")
    gallery = _policy(iam, f"{prefix}-gallery")
    assert gallery["Uploads"]["Resource"] == f"arn:aws:s3:::{names['VF_UPLOADS_BUCKET']}/uploads/*"
    assert gallery["DeleteOutputs"]["Action"] == ["s3:DeleteObject"]  # no writes to media
    assert gallery["SendJobs"]["Action"] == ["sqs:GetQueueAttributes", "sqs:GetQueueUrl",
                                             "sqs:SendMessage"]
    controller = _policy(iam, f"{prefix}-controller")
    assert controller["SizeFleet"]["Action"] == ["autoscaling:SetDesiredCapacity"]
    assert "sqs:ReceiveMessage" not in controller["QueueCounts"]["Action"]
    assert set(_policy(iam, f"{prefix}-gateway")) == {"SendJobs", "ReadSettings"}


def test_settings_functions_networks_and_monitoring(names: dict[str, str], client: Any,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    provision_json(capsys, *_args(names))
    iam, prefix = client("iam"), names["prefix"]
    # The instances read the one settings secret, nothing else of Secrets Manager.
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{prefix}/runtime-??????"
    for role in ("worker", "controller", "gateway"):
        assert _policy(iam, f"{prefix}-{role}")["ReadSettings"] == {
            "Sid": "ReadSettings", "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"], "Resource": secret}, role
    for role in ("gallery", "streaming", "monitoring"):
        assert "ReadSettings" not in _policy(iam, f"{prefix}-{role}"), role
    # A function in a VPC: Lambda attaches it through its role (no more than that).
    for role in ("gallery", "streaming"):
        assert _policy(iam, f"{prefix}-{role}")["NetworkInterfaces"]["Action"] == [
            "ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets", "ec2:UnassignPrivateIpAddresses"]
    monitoring = _policy(iam, f"{prefix}-monitoring")
    assert set(monitoring) == {"DiscoverTargets", "ReadMetrics"}
    everything = [a for s in monitoring.values() for a in s["Action"]]
    assert all(a.split(":")[1].startswith(("Describe", "Get", "List")) for a in everything)


def test_a_changed_policy_is_put_back(names: dict[str, str], client: Any,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    provision_json(capsys, *_args(names))
    iam, role = client("iam"), f"{names['prefix']}-gateway"
    iam.put_role_policy(RoleName=role, PolicyName="videoforge", PolicyDocument=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", '
        '"Resource": "*"}]}'))
    report = provision_json(capsys, *_args(names))
    updated = {r["name"]: r["changes"] for r in report["resources"] if r["outcome"] == "updated"}
    assert updated == {role: ["policy"]}
    assert set(_policy(iam, role)) == {"SendJobs", "ReadSettings"}


def test_kms_key_access_follows_the_bucket_key(names: dict[str, str], client: Any,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    key = client("kms").create_key(Description="videoforge iam test")["KeyMetadata"]
    provision_json(capsys, *_args(names), "--kms-key-id", key["KeyId"])
    statement = _policy(client("iam"), f"{names['prefix']}-worker")["UseBucketKey"]
    assert statement["Resource"] == key["Arn"]
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_the_policies_cover_the_keys_the_code_writes() -> None:
    """Prefixes come from common/storage.py: every key it makes is inside the resources
    of the roles that read or write it, and the uploads' expiry rule covers sources."""
    from fnmatch import fnmatchcase

    from common import storage
    from videoforge.provision import policies
    from videoforge.provision.buckets import bucket_specs

    n = policies.Names(account=ACCOUNT, region="us-east-1", prefix="vf", uploads_bucket="up",
                       media_bucket="media", queue="q", dead_letter_queue="dlq",
                       worker_group="g")

    def allowed(document: dict[str, Any], sid: str, arn: str) -> bool:
        statement = {s["Sid"]: s for s in document["Statement"]}[sid]
        return fnmatchcase(arn, statement["Resource"])

    sources = [storage.upload_key(user_id="u1", video_id="v1", filename="a.mp4"),
               storage.confirmed_key(user_id="u1", video_id="v1", filename="a.mp4")]
    for key in sources:
        assert allowed(policies.gallery(n), "Uploads", f"arn:aws:s3:::up/{key}"), key
        assert allowed(policies.worker(n), "ReadSources", f"arn:aws:s3:::up/{key}"), key
    output = storage.media_key(video_id="v1", job_id="j1", relpath="hls/master.m3u8")
    assert allowed(policies.worker(n), "WriteOutputs", f"arn:aws:s3:::media/{output}")
    assert allowed(policies.streaming(n), "ReadOutputs", f"arn:aws:s3:::media/{output}")
    assert allowed(policies.gallery(n), "DeleteOutputs", f"arn:aws:s3:::media/{output}")
    assert not allowed(policies.gallery(n), "Uploads", f"arn:aws:s3:::up/{output}")
    uploads = bucket_specs(uploads="up", media="media", kms_key_id=None, origins=("o",),
                           upload_expiry_days=7, abort_multipart_days=1)[0]
    assert uploads.expire_prefix is not None
    assert all(key.startswith(uploads.expire_prefix) for key in sources)
