"""Least-privilege IAM policies, one per role, built from the provisioned names: each role
may do what its code calls, on its own resources and key prefixes, and nothing else.

- worker (the fleet's EC2 instances): take, extend and delete job messages, sweep the DLQ;
  read sources under ``uploads/``; write, read and clean outputs under ``videos/``; protect
  itself from scale-in, heartbeat and complete its lifecycle action, find its own group; put
  metrics in the VideoForge namespace.
- controller (the autoscaler): read the queues' counts; read and size the worker group; put
  metrics.
- gateway (its EC2 instances): send job messages, read the queue's counts; invoke the
  functions' HTTP API (IAM-authorised), once `videoforge deploy lambdas` has made it.
- gallery (a Lambda function): presign uploads (single and multipart) under ``uploads/``, check
  them, delete a video's objects; send job messages; write its logs.
- streaming (a Lambda function): presign reads under ``videos/``; write its logs.
- monitoring (the Prometheus + Grafana host): find the instances to scrape; read CloudWatch
  metrics (the Lambda functions' and the HTTP API's numbers).

The EC2 roles also read the provisioned settings (one secret, runtime_config); the Lambda
roles manage the network interfaces a function in a VPC needs. The notifier has no role:
it runs on the control instances with no way to their credentials (ansible/roles/control:
it needs only the database and outbound HTTPS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.storage import MEDIA_PREFIX, UPLOADS_PREFIX
from videoforge.provision import runtime_config

METRICS_NAMESPACE = "VideoForge"

EC2_PRINCIPAL = "ec2.amazonaws.com"
LAMBDA_PRINCIPAL = "lambda.amazonaws.com"


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class Names:
    """What the policies name: the account, region and provisioned resources."""

    account: str
    region: str
    prefix: str                 # role names: {prefix}-worker, …
    uploads_bucket: str
    media_bucket: str
    queue: str
    dead_letter_queue: str
    worker_group: str
    kms_key_arn: str | None = None
    http_api_id: str | None = None   # the functions' API, once deployed

    @property
    def part(self) -> str:
        return partition(self.region)

    def queue_arn(self, name: str) -> str:
        return f"arn:{self.part}:sqs:{self.region}:{self.account}:{name}"

    def bucket_arn(self, bucket: str, path: str = "") -> str:
        return f"arn:{self.part}:s3:::{bucket}{path}"

    @property
    def group_arn(self) -> str:
        return (f"arn:{self.part}:autoscaling:{self.region}:{self.account}:autoScalingGroup:*:"
                f"autoScalingGroupName/{self.worker_group}")

    def log_group_arn(self, function: str) -> str:
        return (f"arn:{self.part}:logs:{self.region}:{self.account}:log-group:"
                f"/aws/lambda/{function}:*")

    def function_name(self, service: str) -> str:
        return f"{self.prefix}-{service}"

    @property
    def settings_secret_arn(self) -> str:
        return runtime_config.secret_arn_pattern(part=self.part, region=self.region,
                                                 account=self.account, prefix=self.prefix)


def trust(service: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


def _statement(sid: str, actions: list[str], resources: list[str] | str,
               condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions),
                                 "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _metrics() -> dict[str, Any]:
    # PutMetricData takes no resource ARN; the namespace condition is the fence.
    return _statement("PutMetrics", ["cloudwatch:PutMetricData"], "*",
                      {"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}})


def _kms(n: Names) -> list[dict[str, Any]]:
    if not n.kms_key_arn:
        return []
    return [_statement("UseBucketKey", ["kms:Decrypt", "kms:GenerateDataKey"], n.kms_key_arn)]


def _logs(n: Names, service: str) -> dict[str, Any]:
    return _statement("WriteLogs", ["logs:CreateLogGroup", "logs:CreateLogStream",
                                    "logs:PutLogEvents"], n.log_group_arn(n.function_name(service)))


def _read_settings(n: Names) -> dict[str, Any]:
    return _statement("ReadSettings", ["secretsmanager:GetSecretValue"], n.settings_secret_arn)


def _vpc_access() -> dict[str, Any]:
    # What Lambda does with the function's role to attach it to its subnets (the actions of
    # AWSLambdaVPCAccessExecutionRole); EC2 takes no resource ARN for the Describe calls
    # and Lambda names no interface before it creates it.
    return _statement("NetworkInterfaces", [
        "ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
        "ec2:UnassignPrivateIpAddresses"], "*")


def _send_jobs(n: Names) -> dict[str, Any]:
    return _statement("SendJobs", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl",
                                   "sqs:SendMessage"], n.queue_arn(n.queue))


def worker(n: Names) -> dict[str, Any]:
    queues = [n.queue_arn(n.queue), n.queue_arn(n.dead_letter_queue)]
    return _document(
        _statement("Jobs", ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
                            "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage",
                            "sqs:SendMessage"], queues),
        _statement("ReadSources", ["s3:GetObject"],
                   n.bucket_arn(n.uploads_bucket, f"/{UPLOADS_PREFIX}*")),
        _statement("WriteOutputs", ["s3:AbortMultipartUpload", "s3:DeleteObject",
                                    "s3:GetObject", "s3:PutObject"],
                   n.bucket_arn(n.media_bucket, f"/{MEDIA_PREFIX}*")),
        _statement("ListOutputs", ["s3:ListBucket"], n.bucket_arn(n.media_bucket),
                   {"StringLike": {"s3:prefix": [f"{MEDIA_PREFIX}*"]}}),
        _statement("Lifecycle", ["autoscaling:CompleteLifecycleAction",
                                 "autoscaling:RecordLifecycleActionHeartbeat",
                                 "autoscaling:SetInstanceProtection"], n.group_arn),
        # Describe calls take no resource ARN (Service Authorization Reference, Auto Scaling).
        _statement("FindOwnGroup", ["autoscaling:DescribeAutoScalingInstances"], "*"),
        _metrics(),
        _read_settings(n),
        *_kms(n),
    )


def controller(n: Names) -> dict[str, Any]:
    return _document(
        _statement("QueueCounts", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
                   [n.queue_arn(n.queue), n.queue_arn(n.dead_letter_queue)]),
        _statement("SizeFleet", ["autoscaling:SetDesiredCapacity"], n.group_arn),
        _statement("ReadFleet", ["autoscaling:DescribeAutoScalingGroups",
                                 "autoscaling:DescribeAutoScalingInstances"], "*"),
        _metrics(),
        _read_settings(n),
    )


def gateway(n: Names) -> dict[str, Any]:
    invoke = [] if not n.http_api_id else [_statement(
        "InvokeFunctionsApi", ["execute-api:Invoke"],
        f"arn:{n.part}:execute-api:{n.region}:{n.account}:{n.http_api_id}/*")]
    return _document(_send_jobs(n), _read_settings(n), *invoke)


def gallery(n: Names) -> dict[str, Any]:
    sources = n.bucket_arn(n.uploads_bucket, f"/{UPLOADS_PREFIX}*")
    return _document(
        _statement("Uploads", ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject",
                               "s3:ListMultipartUploadParts", "s3:PutObject"], sources),
        _statement("ListUploads", ["s3:ListBucket"], n.bucket_arn(n.uploads_bucket),
                   {"StringLike": {"s3:prefix": [f"{UPLOADS_PREFIX}*"]}}),
        # s3:prefix does not apply to ListBucketMultipartUploads: bucket-wide, read only.
        _statement("ListOpenUploads", ["s3:ListBucketMultipartUploads"],
                   n.bucket_arn(n.uploads_bucket)),
        _statement("DeleteOutputs", ["s3:DeleteObject"],
                   n.bucket_arn(n.media_bucket, f"/{MEDIA_PREFIX}*")),
        _statement("ListOutputs", ["s3:ListBucket"], n.bucket_arn(n.media_bucket),
                   {"StringLike": {"s3:prefix": [f"{MEDIA_PREFIX}*"]}}),
        _send_jobs(n),
        _logs(n, "gallery"),
        _vpc_access(),
        *_kms(n),
    )


def streaming(n: Names) -> dict[str, Any]:
    return _document(
        _statement("ReadOutputs", ["s3:GetObject"],
                   n.bucket_arn(n.media_bucket, f"/{MEDIA_PREFIX}*")),
        _logs(n, "streaming"),
        _vpc_access(),
        *_kms(n),
    )


def monitoring(n: Names) -> dict[str, Any]:
    # Read-only calls that take no resource ARN (Service Authorization Reference, EC2 and
    # CloudWatch): Prometheus' EC2 discovery and Grafana's CloudWatch data source.
    return _document(
        _statement("DiscoverTargets", ["ec2:DescribeAvailabilityZones",
                                       "ec2:DescribeInstances"], "*"),
        _statement("ReadMetrics", ["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics",
                                   "cloudwatch:ListMetrics"], "*"),
    )
