"""One provisioning run: every step in order, each reading what exists and changing only
what differs. The same run works against the moto server and real AWS."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from common import aws
from common.settings import CommonSettings
from videoforge.provision.alarms import alarm_specs, ensure_alarms
from videoforge.provision.buckets import bucket_specs, ensure_bucket
from videoforge.provision.cognito import ensure_admin_group, ensure_app_client, ensure_user_pool
from videoforge.provision.fleet import FleetSpec, ensure_fleet
from videoforge.provision.gateway import GatewaySpec, ensure_gateway
from videoforge.provision.iam import ensure_roles
from videoforge.provision.policies import Names
from videoforge.provision.queues import ensure_job_queues
from videoforge.provision.results import Outcome, ProvisionError, Result


@dataclass(frozen=True)
class ProvisionConfig:
    kms_key_id: str | None = None
    cors_origins: tuple[str, ...] = ("http://localhost:8000",)
    upload_expiry_days: int = 7
    abort_multipart_days: int = 1
    max_receive_count: int = 5
    # The worker extends visibility while it works; this only covers its first minutes.
    visibility_timeout_s: int = 300
    user_pool_name: str = "videoforge-users"
    app_client_name: str = "videoforge-web"
    oldest_age_alarm_s: int = 900
    alarm_topic_arn: str | None = None
    fleet: FleetSpec | None = None     # None: no launch template / Auto Scaling group
    gateway: GatewaySpec | None = None   # None: no load balancer / gateway group
    # False: leave users to another identity provider (the local stack's own).
    cognito: bool = True
    # IAM roles for the workers, controller, gateway and Lambdas (False: the local stack).
    iam: bool = True
    name_prefix: str = "videoforge"            # roles, profiles, functions: {prefix}-{what}
    worker_group: str = "videoforge-workers"   # the group the worker/controller roles act on

    def validate(self) -> None:
        if not self.cors_origins:
            raise ProvisionError("give at least one CORS origin", exit_code=2)
        for name, value in (("upload expiry days", self.upload_expiry_days),
                            ("multipart abort days", self.abort_multipart_days),
                            ("max receive count", self.max_receive_count)):
            if value < 1:
                raise ProvisionError(f"{name} must be at least 1, got {value}", exit_code=2)
        # SQS limits (SQS Developer Guide, "Quotas"): visibility 0..12 h, redrive 1..1000.
        if not 0 <= self.visibility_timeout_s <= 12 * 3600:
            raise ProvisionError("visibility timeout must be 0..43200 s", exit_code=2)
        if self.max_receive_count > 1000:
            raise ProvisionError("max receive count must be at most 1000", exit_code=2)
        if self.fleet:
            self.fleet.validate()
        if self.gateway:
            self.gateway.fleet.validate()


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(r.outcome != Outcome.UNCHANGED for r in self.results)

    def env(self) -> dict[str, str]:
        """The VF_* variables that point the services at what was provisioned."""
        keys = {"uploads_bucket": "VF_UPLOADS_BUCKET", "media_bucket": "VF_MEDIA_BUCKET",
                "queue_name": "VF_JOBS_QUEUE_NAME",
                "dead_letter_queue_name": "VF_DEAD_LETTER_QUEUE_NAME",
                "user_pool_id": "VF_COGNITO_USER_POOL_ID",
                "app_client_id": "VF_COGNITO_CLIENT_ID",
                "auto_scaling_group": "VF_AUTOSCALER_ASG_NAME",
                "gallery_url": "VF_GALLERY_URL", "streaming_url": "VF_STREAMING_URL"}
        return {env: self.outputs[key] for key, env in keys.items() if key in self.outputs}


def provision(settings: CommonSettings, config: ProvisionConfig) -> Report:
    """Create or update everything; raises ProvisionError (and lets ClientError through
    for a refused call, which names the operation)."""
    config.validate()
    report = Report()

    def client(service: str) -> Any:
        return aws.client(service, settings)

    s3 = client("s3")
    for spec in bucket_specs(uploads=settings.uploads_bucket, media=settings.media_bucket,
                             kms_key_id=config.kms_key_id, origins=config.cors_origins,
                             upload_expiry_days=config.upload_expiry_days,
                             abort_multipart_days=config.abort_multipart_days):
        report.results.append(ensure_bucket(s3, spec, region=settings.aws_region))
    report.outputs.update(uploads_bucket=settings.uploads_bucket,
                          media_bucket=settings.media_bucket)

    results, outputs = ensure_job_queues(
        client("sqs"), queue=settings.jobs_queue_name,
        dead_letter_queue=settings.dead_letter_queue_name,
        max_receive_count=config.max_receive_count,
        visibility_timeout_s=config.visibility_timeout_s)
    report.results += results
    report.outputs.update(outputs, queue_name=settings.jobs_queue_name,
                          dead_letter_queue_name=settings.dead_letter_queue_name)

    if config.cognito:
        idp = client("cognito-idp")
        pool_result, pool_id = ensure_user_pool(idp, name=config.user_pool_name,
                                                pool_id=settings.cognito_user_pool_id)
        client_result, client_id = ensure_app_client(idp, pool_id=pool_id,
                                                     name=config.app_client_name)
        report.results += [pool_result, ensure_admin_group(idp, pool_id=pool_id),
                           client_result]
        report.outputs.update(user_pool_id=pool_id, app_client_id=client_id)

    if config.iam:
        results, outputs = ensure_roles(client("iam"), _names(settings, config, client),
                                        tags=dict(FleetSpec().tags))
        report.results += results
        report.outputs.update(outputs)

    if config.fleet:
        fleet = config.fleet
        if fleet.instance_profile is None and "worker_instance_profile" in report.outputs:
            fleet = replace(fleet, instance_profile=report.outputs["worker_instance_profile"])
        results, outputs = ensure_fleet(client("ec2"), client("autoscaling"), fleet)
        report.results += results
        report.outputs.update(outputs)

    if config.gateway:
        gateway = config.gateway
        if gateway.fleet.instance_profile is None and "gateway_instance_profile" in report.outputs:
            gateway = replace(gateway, fleet=replace(
                gateway.fleet, instance_profile=report.outputs["gateway_instance_profile"]))
        results, outputs = ensure_gateway(client("ec2"), client("elbv2"), client("autoscaling"),
                                          gateway)
        report.results += results
        report.outputs.update(outputs)

    report.results += ensure_alarms(client("cloudwatch"), alarm_specs(
        queue=settings.jobs_queue_name, dead_letter_queue=settings.dead_letter_queue_name,
        oldest_age_s=config.oldest_age_alarm_s, topic_arn=config.alarm_topic_arn))
    return report


def _names(settings: CommonSettings, config: ProvisionConfig, client: Any) -> Names:
    kms_arn = None
    if config.kms_key_id:
        kms_arn = str(client("kms").describe_key(KeyId=config.kms_key_id)["KeyMetadata"]["Arn"])
    return Names(account=str(client("sts").get_caller_identity()["Account"]),
                 region=settings.aws_region, prefix=config.name_prefix,
                 uploads_bucket=settings.uploads_bucket, media_bucket=settings.media_bucket,
                 queue=settings.jobs_queue_name,
                 dead_letter_queue=settings.dead_letter_queue_name,
                 worker_group=config.worker_group, kms_key_arn=kms_arn)
