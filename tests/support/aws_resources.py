"""Fresh buckets and a job queue with a real redrive policy on the moto server, and
reading back what a queue holds."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from common import aws
from common.messages import WakeUp
from common.settings import CommonSettings


@dataclass
class AwsResources:
    endpoint_url: str
    uploads_bucket: str
    media_bucket: str
    queue_name: str
    queue_url: str
    dlq_name: str
    dlq_url: str

    def env(self) -> dict[str, str]:
        """The VF_* variables that point a service (or a subprocess) at these resources."""
        return {
            "VF_AWS_ENDPOINT_URL": self.endpoint_url,
            "VF_AWS_REGION": "us-east-1",
            "VF_UPLOADS_BUCKET": self.uploads_bucket,
            "VF_MEDIA_BUCKET": self.media_bucket,
            "VF_JOBS_QUEUE_NAME": self.queue_name,
            "VF_DEAD_LETTER_QUEUE_NAME": self.dlq_name,
        }


def create_aws_resources(
    endpoint_url: str, *, max_receive_count: int = 3, visibility_timeout: int = 30
) -> AwsResources:
    suffix = uuid.uuid4().hex[:8]
    settings = CommonSettings(aws_endpoint_url=endpoint_url)
    s3 = aws.client("s3", settings)
    sqs = aws.client("sqs", settings)
    uploads, media = f"vf-uploads-{suffix}", f"vf-media-{suffix}"
    for bucket in (uploads, media):
        s3.create_bucket(Bucket=bucket)
    dlq_name, queue_name = f"vf-jobs-dlq-{suffix}", f"vf-jobs-{suffix}"
    dlq_url = sqs.create_queue(QueueName=dlq_name)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=queue_name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )["QueueUrl"]
    return AwsResources(endpoint_url, uploads, media, queue_name, queue_url, dlq_name, dlq_url)


def queued_messages(settings: Any) -> list[WakeUp]:
    """Every wake-up token in the job queue (each received, so left invisible for 60 s)."""
    sqs = aws.client("sqs", CommonSettings(aws_endpoint_url=settings.aws_endpoint_url))
    url = sqs.get_queue_url(QueueName=settings.jobs_queue_name)["QueueUrl"]
    found = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                  VisibilityTimeout=60).get("Messages", [])
        if not got:
            return found
        found += [WakeUp.decode(m["Body"]) for m in got]
