"""The job queue and its dead-letter queue, joined by a redrive policy."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from videoforge.provision.results import Changes, Result, error_code

# The longest SQS keeps a message: 14 days (SQS Developer Guide, "Quotas related to
# messages"). Dead letters wait there for someone to look at them.
MAX_RETENTION_S = 14 * 24 * 3600
# Wake-up tokens are kept as long as SQS allows too (its default, 4 days, would drop the
# token of a job still queued after a long outage); a token lost anyway is re-sent by the
# workers' reconciliation (processor/wakeups.py).
JOB_RETENTION_S = MAX_RETENTION_S
# Long polling: the most SQS allows per receive (20 s).
WAIT_TIME_S = 20


def _queue_url(sqs: Any, name: str) -> str | None:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if error_code(exc) in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
            return None
        raise


def _same(attribute: str, current: str | None, desired: str) -> bool:
    if attribute == "RedrivePolicy":
        # SQS echoes maxReceiveCount as a number where we sent a string.
        def norm(v: str | None) -> Any:
            return {k: str(x) for k, x in json.loads(v).items()} if v else None
        return bool(norm(current) == norm(desired))
    return current == desired


def ensure_queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[Result, str, str]:
    """The queue ``name`` with ``attributes``; returns its result, URL and ARN."""
    changes = Changes("sqs queue", name)
    url = _queue_url(sqs, name)
    if url is None:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        changes.created = True
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    differing = {k: v for k, v in attributes.items() if not _same(k, current.get(k), v)}
    if differing:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=differing)
        changes.note(*sorted(differing))
    return changes.result(id=url), url, str(current["QueueArn"])


def ensure_job_queues(
    sqs: Any, *, queue: str, dead_letter_queue: str, max_receive_count: int,
    visibility_timeout_s: int,
) -> tuple[list[Result], dict[str, str]]:
    dlq_result, dlq_url, dlq_arn = ensure_queue(
        sqs, dead_letter_queue, {"MessageRetentionPeriod": str(MAX_RETENTION_S)})
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn,
                          "maxReceiveCount": str(max_receive_count)})
    job_result, job_url, job_arn = ensure_queue(sqs, queue, {
        "VisibilityTimeout": str(visibility_timeout_s),
        "MessageRetentionPeriod": str(JOB_RETENTION_S),
        "ReceiveMessageWaitTimeSeconds": str(WAIT_TIME_S),
        "RedrivePolicy": redrive,
    })
    outputs = {"queue_url": job_url, "queue_arn": job_arn,
               "dead_letter_queue_url": dlq_url, "dead_letter_queue_arn": dlq_arn}
    return [dlq_result, job_result], outputs
