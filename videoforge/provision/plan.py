"""One provisioning run: every step in order, each reading what exists and changing only
what differs. The same run works against the moto server and real AWS."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from common import aws
from common.settings import CommonSettings
from videoforge.provision import http_api, runtime_config
from videoforge.provision.alarms import alarm_specs, ensure_alarms
from videoforge.provision.buckets import bucket_specs, ensure_bucket
from videoforge.provision.cache import CacheSpec, ensure_cache
from videoforge.provision.cognito import ensure_admin_group, ensure_app_client, ensure_user_pool
from videoforge.provision.control import ControlSpec, ensure_control
from videoforge.provision.database import DatabaseSpec, ensure_database
from videoforge.provision.fleet import FleetSpec, ensure_fleet, find_subnets
from videoforge.provision.gateway import GatewaySpec, ensure_gateway
from videoforge.provision.iam import ensure_roles
from videoforge.provision.network import (
    SecurityGroups,
    ensure_private_subnets,
    ensure_security_groups,
    vpc_of,
)
from videoforge.provision.policies import Names
from videoforge.provision.queues import ensure_job_queues
from videoforge.provision.results import Outcome, ProvisionError, Result
from videoforge.provision.user_data import instance_user_data


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
    control: ControlSpec | None = None   # None: no control group
    # PostgreSQL and Redis: made here (a spec), brought along (a URL), or neither.
    database: DatabaseSpec | None = None
    database_url: str | None = None
    cache: CacheSpec | None = None
    redis_url: str | None = None
    # The instances' (public) subnets, default the default VPC's; the private ones for
    # the database, Redis and the functions, default made here.
    subnet_ids: tuple[str, ...] = ()
    private_subnet_ids: tuple[str, ...] = ()
    # The provisioned settings secret (False: the local stack, which passes them itself).
    settings_secret: bool = True
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
        if self.database and self.database_url or self.cache and self.redis_url:
            raise ProvisionError("make the database/Redis or give its URL, not both",
                                 exit_code=2)
        for spec in (self.database, self.cache):
            if spec:
                spec.validate()

    @property
    def private(self) -> bool:
        """Whether this run needs the private subnets (something lives in them)."""
        return bool(self.database or self.cache)

    @property
    def network(self) -> bool:
        return bool(self.private or self.fleet or self.gateway or self.control)


@dataclass
class Report:
    # Output key → the VF_* variable that points a service at it.
    ENV: ClassVar[dict[str, str]] = {
        "uploads_bucket": "VF_UPLOADS_BUCKET", "media_bucket": "VF_MEDIA_BUCKET",
        "queue_name": "VF_JOBS_QUEUE_NAME", "dead_letter_queue_name": "VF_DEAD_LETTER_QUEUE_NAME",
        "user_pool_id": "VF_COGNITO_USER_POOL_ID", "app_client_id": "VF_COGNITO_CLIENT_ID",
        "auto_scaling_group": "VF_AUTOSCALER_ASG_NAME",
        "gallery_url": "VF_GALLERY_URL", "streaming_url": "VF_STREAMING_URL",
        "settings_secret": runtime_config.SECRET_VARIABLE}

    results: list[Result] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    # Secret settings (URLs with passwords): stored in the settings secret, never printed.
    settings: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def changed(self) -> bool:
        return any(r.outcome != Outcome.UNCHANGED for r in self.results)

    def env(self) -> dict[str, str]:
        """The VF_* variables that point the services at what was provisioned."""
        return {env: self.outputs[key] for key, env in self.ENV.items() if key in self.outputs}


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

    groups = None
    if config.network:
        groups, private = _network(client("ec2"), config, report)
        if config.private:
            _data_stores(client, config, report, groups=groups, private=private,
                         stored=_stored(client, config))
    if config.settings_secret:
        _write_settings(client, settings, config, report)
    if groups is not None:
        _instances(client, settings, config, report, groups)

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
                 worker_group=config.worker_group, kms_key_arn=kms_arn,
                 http_api_id=_api_id(client, config))


def _api_id(client: Any, config: ProvisionConfig) -> str | None:
    """The functions' HTTP API, once `videoforge deploy lambdas` has made it."""
    api = http_api.find_api(client("apigatewayv2"), f"{config.name_prefix}-api")
    return str(api["ApiId"]) if api else None


def _network(ec2: Any, config: ProvisionConfig, report: Report
             ) -> tuple[SecurityGroups, list[str]]:
    public = find_subnets(ec2, config.subnet_ids)
    vpc = vpc_of(ec2, public)
    results, groups = ensure_security_groups(ec2, prefix=config.name_prefix, vpc=vpc)
    report.results += results
    private = list(config.private_subnet_ids)
    if config.private and not private:
        results, private = ensure_private_subnets(ec2, prefix=config.name_prefix, vpc=vpc,
                                                  public_subnets=public)
        report.results += results
    elif private and vpc_of(ec2, private + public[:1]) != vpc:
        raise ProvisionError("the private subnets are not in the instances' VPC", exit_code=2)
    report.outputs.update(vpc_id=vpc, **{f"{part}_security_group": getattr(groups, part)
                                         for part in groups.__dataclass_fields__})
    if private:
        report.outputs["private_subnets"] = ",".join(private)
    return groups, private


def _stored(client: Any, config: ProvisionConfig) -> dict[str, str]:
    if not config.settings_secret:
        return {}
    name = runtime_config.secret_name(config.name_prefix)
    return runtime_config.read(client("secretsmanager"), name) or {}


def _data_stores(client: Any, config: ProvisionConfig, report: Report, *,
                 groups: SecurityGroups, private: list[str], stored: dict[str, str]) -> None:
    """The database and Redis (their URLs, passwords inside, go to the settings only)."""
    if config.database:
        results, url = ensure_database(client("rds"), config.database, subnets=private,
                                       security_group=groups.database,
                                       stored_url=stored.get("VF_DATABASE_URL"))
        report.results += results
        report.settings["VF_DATABASE_URL"] = url
        report.outputs["database_endpoint"] = url.split("@", 1)[1].split("/", 1)[0]
    if config.cache:
        results, url = ensure_cache(client("elasticache"), config.cache, subnets=private,
                                    security_group=groups.redis,
                                    stored_url=stored.get("VF_REDIS_URL"))
        report.results += results
        report.settings["VF_REDIS_URL"] = url
        report.outputs["redis_endpoint"] = url.split("@", 1)[1].split("/", 1)[0]


def _write_settings(client: Any, settings: CommonSettings, config: ProvisionConfig,
                    report: Report) -> None:
    """Everything a deployed process needs to find what this run made, in one secret."""
    out = report.outputs
    values = {"VF_AWS_REGION": settings.aws_region, **{
        env: out[key] for key, env in Report.ENV.items()
        if key in out and env != runtime_config.SECRET_VARIABLE}}
    if config.fleet:
        values["VF_AUTOSCALER_ASG_NAME"] = config.fleet.group_name
        if config.fleet.lifecycle_hook:
            values["VF_LIFECYCLE_HOOK"] = config.fleet.lifecycle_hook
    if config.database_url:
        report.settings["VF_DATABASE_URL"] = config.database_url
    if config.redis_url:
        report.settings["VF_REDIS_URL"] = config.redis_url
    values.update(report.settings)
    # The functions' HTTP API, once `videoforge deploy lambdas` has made it.
    api = http_api.find_api(client("apigatewayv2"), f"{config.name_prefix}-api")
    if api:
        values["VF_GALLERY_URL"] = values["VF_STREAMING_URL"] = http_api.endpoint(api)
    name = runtime_config.secret_name(config.name_prefix)
    result, _ = runtime_config.ensure(
        client("secretsmanager"), name=name, values=values,
        generated={"VF_STREAM_SIGNING_KEY": runtime_config.generate},
        tags=dict(FleetSpec().tags))
    report.results.append(result)
    out["settings_secret"] = name


def _instances(client: Any, settings: CommonSettings, config: ProvisionConfig, report: Report,
               groups: SecurityGroups) -> None:
    """The worker fleet, the gateway and the control group, each with its security group,
    its instance profile and, unless the operator brings their own, user data that points
    it at the provisioned settings."""
    out = report.outputs
    boot = (instance_user_data(secret=out["settings_secret"], region=settings.aws_region)
            if "settings_secret" in out else None)

    def launch(fleet: FleetSpec, role: str) -> FleetSpec:
        return replace(fleet, instance_profile=fleet.instance_profile
                       or out.get(f"{role}_instance_profile"),
                       user_data=fleet.user_data or boot,
                       subnet_ids=fleet.subnet_ids or config.subnet_ids)

    ec2, autoscaling = client("ec2"), client("autoscaling")
    if config.fleet:
        fleet = replace(launch(config.fleet, "worker"), security_group_ids=(groups.workers,))
        results, outputs = ensure_fleet(ec2, autoscaling, fleet)
        report.results += results
        out.update(outputs)
    if config.gateway:
        gateway = replace(config.gateway, fleet=launch(config.gateway.fleet, "gateway"))
        results, outputs = ensure_gateway(ec2, client("elbv2"), autoscaling, gateway,
                                          route53=client("route53"))
        report.results += results
        out.update(outputs)
    if config.control:
        control = replace(config.control, fleet=launch(config.control.fleet, "controller"))
        results, outputs = ensure_control(ec2, autoscaling, control,
                                          security_group=groups.control)
        report.results += results
        out.update(outputs)
