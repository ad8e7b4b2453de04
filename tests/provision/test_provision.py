"""``videoforge provision`` against the moto server: everything is created with the right
properties, a second run changes nothing, drift is put back, bad input exits 2."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.provisioning import provision_json as _provision
from videoforge.cli import main


def _fleet_args() -> list[str]:
    # moto launches instances from any image id.
    return ["--with-fleet", "--ami-id", "ami-12345678", "--lifecycle-hook", "drain"]


def test_provision_twice(names: dict[str, str], client: Any,
                         capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--user-pool-name", names["pool"], "--name-prefix", names["prefix"],
            "--cors-origin", "https://videos.example", *_fleet_args()]
    first = _provision(capsys, *args)
    assert first["changed"]
    assert {r["outcome"] for r in first["resources"]} == {"created"}
    kinds = [r["kind"] for r in first["resources"]]
    assert kinds.count("s3 bucket") == 2 and kinds.count("sqs queue") == 2
    assert {"cognito user pool", "cognito app client", "launch template",
            "auto scaling group", "lifecycle hook", "cloudwatch alarm", "iam role",
            "instance profile"} <= set(kinds)

    second = _provision(capsys, *args)
    assert not second["changed"]
    assert {r["outcome"] for r in second["resources"]} == {"unchanged"}
    assert second["outputs"] == first["outputs"]
    env = second["env"]
    assert env["VF_UPLOADS_BUCKET"] == names["VF_UPLOADS_BUCKET"]
    assert env["VF_COGNITO_CLIENT_ID"] and env["VF_COGNITO_USER_POOL_ID"]

    _check_buckets(client("s3"), names)
    _check_queues(client("sqs"), names)
    _check_cognito(client("cognito-idp"), env)
    _check_fleet(client("ec2"), client("autoscaling"), names)
    alarms = client("cloudwatch").describe_alarms(AlarmNamePrefix=names["VF_JOBS_QUEUE_NAME"])
    metrics = {a["MetricName"] for a in alarms["MetricAlarms"]}
    assert metrics == {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}


def _check_buckets(s3: Any, names: dict[str, str]) -> None:
    for bucket in (names["VF_UPLOADS_BUCKET"], names["VF_MEDIA_BUCKET"]):
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()) and len(block) == 4
        rule = s3.get_bucket_encryption(Bucket=bucket)[
            "ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    cors = s3.get_bucket_cors(Bucket=names["VF_UPLOADS_BUCKET"])["CORSRules"][0]
    assert "PUT" in cors["AllowedMethods"] and "ETag" in cors["ExposeHeaders"]
    assert cors["AllowedOrigins"] == ["https://videos.example"]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=names["VF_UPLOADS_BUCKET"])["Rules"]
    assert rules[0]["Filter"]["Prefix"] == "uploads/"
    assert rules[0]["Expiration"]["Days"] == 7
    assert rules[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1
    # What a chunked job's stitch left behind (it died after publishing) expires too.
    rules = s3.get_bucket_lifecycle_configuration(Bucket=names["VF_MEDIA_BUCKET"])["Rules"]
    assert [r["Filter"]["Prefix"] for r in rules] == ["videos/_work/"]
    assert rules[0]["Expiration"]["Days"] == 7


def _check_queues(sqs: Any, names: dict[str, str]) -> None:
    url = sqs.get_queue_url(QueueName=names["VF_JOBS_QUEUE_NAME"])["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == 5
    assert redrive["deadLetterTargetArn"].endswith(":" + names["VF_DEAD_LETTER_QUEUE_NAME"])
    assert attrs["VisibilityTimeout"] == "300"


def _check_cognito(idp: Any, env: dict[str, str]) -> None:
    app = idp.describe_user_pool_client(UserPoolId=env["VF_COGNITO_USER_POOL_ID"],
                                        ClientId=env["VF_COGNITO_CLIENT_ID"])["UserPoolClient"]
    assert "ClientSecret" not in app
    assert set(app["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH",
                                             "ALLOW_REFRESH_TOKEN_AUTH"}
    pool = idp.describe_user_pool(UserPoolId=env["VF_COGNITO_USER_POOL_ID"])["UserPool"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 8
    idp.get_group(UserPoolId=env["VF_COGNITO_USER_POOL_ID"], GroupName="admin")


def _check_fleet(ec2: Any, autoscaling: Any, names: dict[str, str]) -> None:
    name = names["VF_AUTOSCALER_ASG_NAME"]
    version = ec2.describe_launch_template_versions(
        LaunchTemplateName=name, Versions=["$Default"])["LaunchTemplateVersions"][0]
    data = version["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["InstanceType"] == "t3.medium"
    group = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (1, 3, 1)
    hooks = autoscaling.describe_lifecycle_hooks(AutoScalingGroupName=name)["LifecycleHooks"]
    assert hooks[0]["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING"


def test_drift_is_put_back(names: dict[str, str], client: Any,
                           capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--user-pool-name", names["pool"], "--name-prefix", names["prefix"]]
    _provision(capsys, *args)
    s3, sqs = client("s3"), client("sqs")
    s3.delete_bucket_cors(Bucket=names["VF_UPLOADS_BUCKET"])
    url = sqs.get_queue_url(QueueName=names["VF_JOBS_QUEUE_NAME"])["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5"})

    report = _provision(capsys, *args, "--max-receive-count", "3")
    updated = {r["name"]: r["changes"] for r in report["resources"]
               if r["outcome"] == "updated"}
    assert updated == {names["VF_UPLOADS_BUCKET"]: ["cors"],
                       names["VF_JOBS_QUEUE_NAME"]: ["RedrivePolicy", "VisibilityTimeout"]}
    code = main(["provision", *args, "--max-receive-count", "3"])  # the table says so too
    table = capsys.readouterr().out
    assert code == 0 and "Nothing changed" in table and " updated " not in table


def test_sse_kms_with_a_given_key(names: dict[str, str], client: Any,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    key = client("kms").create_key(Description="videoforge test")["KeyMetadata"]["KeyId"]
    args = ["--user-pool-name", names["pool"], "--name-prefix", names["prefix"],
            "--kms-key-id", key]
    _provision(capsys, *args)
    rule = client("s3").get_bucket_encryption(Bucket=names["VF_MEDIA_BUCKET"])[
        "ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms",
                                                          "KMSMasterKeyID": key}
    assert not _provision(capsys, *args)["changed"]


@pytest.mark.parametrize("args", [
    ["--with-fleet", "--ami-id", "ami-12345678", "--min", "3", "--max", "1"],
    ["--max-receive-count", "0"],
])
def test_bad_input_exits_2(names: dict[str, str], args: list[str],
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["provision", *args]) == 2
    assert "error:" in capsys.readouterr().err
