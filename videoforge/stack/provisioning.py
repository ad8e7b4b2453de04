"""Provision the local stack's AWS resources in moto.

Interim: creates the buckets, the job queue with its dead-letter queue, and a Cognito
user pool with an app client that allows password sign-in. To be replaced by the
`videoforge provision` Python API once it lands on main.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from common import aws
from common.settings import CommonSettings

# A message received this many times without being deleted goes to the DLQ.
MAX_RECEIVE_COUNT = 3


@dataclass(frozen=True)
class Provisioned:
    user_pool_id: str
    client_id: str


def provision(settings: CommonSettings) -> Provisioned:
    s3 = aws.client("s3", settings)
    for bucket in (settings.uploads_bucket, settings.media_bucket):
        s3.create_bucket(Bucket=bucket)
    sqs = aws.client("sqs", settings)
    dlq_url = sqs.create_queue(QueueName=settings.dead_letter_queue_name)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sqs.create_queue(QueueName=settings.jobs_queue_name, Attributes={
        "VisibilityTimeout": "120",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                     "maxReceiveCount": str(MAX_RECEIVE_COUNT)}),
    })
    cognito = aws.client("cognito-idp", settings)
    pool = cognito.create_user_pool(PoolName="videoforge")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="videoforge-web", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return Provisioned(pool, client)
