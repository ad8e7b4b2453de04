"""Builds a controller and its parts from :class:`AutoscalerSettings`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from common import aws
from common.broker import SqsBroker
from common.db import session_factory
from processor.autoscaler.asg import AsgBackend
from processor.autoscaler.backends import FleetBackend
from processor.autoscaler.backlog import WorkEstimator
from processor.autoscaler.controller import CloudWatchPublisher, Controller, FleetMeter
from processor.autoscaler.local_pool import LocalPool
from processor.autoscaler.policy import Autoscaler, ScalingConfig
from processor.autoscaler.settings import AutoscalerSettings
from processor.autoscaler.signals import SignalReader

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient


def make_backend(settings: AutoscalerSettings) -> FleetBackend:
    if settings.autoscaler_backend == "asg":
        return AsgBackend(aws.client("autoscaling", settings), settings.autoscaler_asg_name)
    return LocalPool(
        session_factory(settings.database_url),
        id_prefix=settings.autoscaler_worker_id_prefix,
        drain_timeout_s=settings.autoscaler_drain_timeout_s,
        metrics_base_port=settings.autoscaler_worker_metrics_base_port,
    )


def _dead_letter_broker(sqs: SQSClient, settings: AutoscalerSettings) -> SqsBroker | None:
    try:
        return SqsBroker.from_name(sqs, settings.dead_letter_queue_name)
    except ClientError:
        return None  # no DLQ: the gauge stays unset rather than the loop failing


def build_controller(
    settings: AutoscalerSettings, *, backend: FleetBackend | None = None
) -> Controller:
    """Raises ValueError for an invalid scaling configuration, ClientError when the job
    queue cannot be found."""
    config = ScalingConfig.from_settings(settings)
    backend = backend or make_backend(settings)
    sqs = aws.client("sqs", settings)
    reader = SignalReader(
        broker=SqsBroker.from_name(sqs, settings.jobs_queue_name),
        dead_letter_broker=_dead_letter_broker(sqs, settings),
        sessions=session_factory(settings.database_url),
        backend=backend,
        estimator=WorkEstimator(default_cost=settings.autoscaler_default_encode_cost,
                                default_job_s=settings.autoscaler_default_job_s,
                                sample=settings.autoscaler_cost_sample),
    )
    publisher = None
    if settings.autoscaler_cloudwatch:
        dimension = (("AutoScalingGroupName", settings.autoscaler_asg_name)
                     if settings.autoscaler_backend == "asg"
                     else ("QueueName", settings.jobs_queue_name))
        publisher = CloudWatchPublisher(aws.client("cloudwatch", settings),
                                        namespace=settings.autoscaler_cloudwatch_namespace,
                                        dimension=dimension)
    return Controller(reader=reader, autoscaler=Autoscaler(config), backend=backend,
                      interval_s=settings.autoscaler_interval_s, publisher=publisher,
                      meter=FleetMeter(settings.prices()))
