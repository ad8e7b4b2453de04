"""CloudWatch alarms on the queues: a dead letter arrived; jobs wait too long."""

from __future__ import annotations

from functools import partial
from typing import Any

from videoforge.provision.results import Changes, Result

# SQS publishes its metrics to CloudWatch every minute (SQS Developer Guide,
# "Available CloudWatch metrics for Amazon SQS").
_PERIOD_S = 60
# Compared with what describe_alarms returns: the fields we set.
_COMPARED = ("Namespace", "MetricName", "Dimensions", "Statistic", "Period",
             "EvaluationPeriods", "Threshold", "ComparisonOperator", "TreatMissingData",
             "AlarmActions", "OKActions", "AlarmDescription")


def alarm_specs(*, queue: str, dead_letter_queue: str, oldest_age_s: int,
                topic_arn: str | None) -> list[dict[str, Any]]:
    """Alarms named after the job queue, so two deployments in one account never meet."""
    actions = [topic_arn] if topic_arn else []
    common = {"Namespace": "AWS/SQS", "Statistic": "Maximum", "Period": _PERIOD_S,
              "TreatMissingData": "notBreaching", "AlarmActions": actions, "OKActions": actions}
    return [
        {**common, "AlarmName": f"{queue}-dlq-not-empty",
         "AlarmDescription": f"Jobs failed repeatedly and landed in {dead_letter_queue}.",
         "MetricName": "ApproximateNumberOfMessagesVisible",
         "Dimensions": [{"Name": "QueueName", "Value": dead_letter_queue}],
         "EvaluationPeriods": 1, "Threshold": 0.0,
         "ComparisonOperator": "GreaterThanThreshold"},
        {**common, "AlarmName": f"{queue}-oldest-message-age",
         "AlarmDescription": f"The oldest message in {queue} waited over {oldest_age_s} s: "
                             "the fleet is not keeping up.",
         "MetricName": "ApproximateAgeOfOldestMessage",
         "Dimensions": [{"Name": "QueueName", "Value": queue}],
         # Five minutes in a row, so one slow poll does not page anyone.
         "EvaluationPeriods": 5, "Threshold": float(oldest_age_s),
         "ComparisonOperator": "GreaterThanThreshold"},
    ]


def _norm(alarm: dict[str, Any]) -> dict[str, Any]:
    values = {k: alarm.get(k) for k in _COMPARED}
    values["Threshold"] = float(values["Threshold"] or 0)
    for key in ("AlarmActions", "OKActions"):
        values[key] = sorted(values[key] or [])
    values["Dimensions"] = sorted((d["Name"], d["Value"]) for d in values["Dimensions"] or [])
    return values


def ensure_alarms(cloudwatch: Any, specs: list[dict[str, Any]]) -> list[Result]:
    names = [s["AlarmName"] for s in specs]
    existing = {a["AlarmName"]: a for a in
                cloudwatch.describe_alarms(AlarmNames=names).get("MetricAlarms", [])}
    results = []
    for spec in specs:
        changes = Changes("cloudwatch alarm", spec["AlarmName"])
        current = existing.get(spec["AlarmName"])
        changes.created = current is None
        # PutMetricAlarm creates or replaces the whole alarm.
        changes.converge("definition", current and _norm(current), _norm(spec),
                         partial(cloudwatch.put_metric_alarm, **spec))
        results.append(changes.result(id=current and current.get("AlarmArn")))
    return results
