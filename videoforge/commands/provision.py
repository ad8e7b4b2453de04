"""``videoforge provision``: create or update the AWS resources; a second run changes nothing.

Names come from the usual settings (VF_UPLOADS_BUCKET, VF_MEDIA_BUCKET, VF_JOBS_QUEUE_NAME,
VF_DEAD_LETTER_QUEUE_NAME, VF_AUTOSCALER_ASG_NAME; VF_AWS_ENDPOINT_URL for the moto server).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from processor.autoscaler.settings import AutoscalerSettings
from videoforge.provision import FleetSpec, ProvisionConfig, ProvisionError, Report, provision
from videoforge.provision.cache import CacheSpec
from videoforge.provision.control import AMI_NAME_PATTERN as CONTROL_AMI_PATTERN
from videoforge.provision.control import ControlSpec
from videoforge.provision.database import DatabaseSpec
from videoforge.provision.fleet import HOOK_HEARTBEAT_TIMEOUT_S
from videoforge.provision.gateway import AMI_NAME_PATTERN as GATEWAY_AMI_PATTERN
from videoforge.provision.gateway import GatewaySpec

_DEFAULTS = ProvisionConfig()
_FLEET = FleetSpec()
_GATEWAY = GatewaySpec()
_CONTROL = ControlSpec()
_DATABASE = DatabaseSpec()
_CACHE = CacheSpec()
_DEFAULT = " (default %(default)s)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--kms-key-id", help="encrypt the buckets with SSE-KMS and this key "
                                             "(default: SSE-S3)")
    parser.add_argument("--cors-origin", action="append", dest="cors_origins", metavar="URL",
                        help="origin allowed to upload from a browser (repeatable; default "
                             f"{_DEFAULTS.cors_origins[0]})")
    parser.add_argument("--upload-expiry-days", type=int, default=_DEFAULTS.upload_expiry_days,
                        help="days before the upload bucket's lifecycle rule deletes an upload"
                             + _DEFAULT)
    parser.add_argument("--max-receive-count", type=int, default=_DEFAULTS.max_receive_count,
                        help="deliveries before a job message goes to the dead-letter queue"
                             + _DEFAULT)
    parser.add_argument("--visibility-timeout", type=int, default=_DEFAULTS.visibility_timeout_s,
                        metavar="S", help="the job queue's visibility timeout" + _DEFAULT)
    parser.add_argument("--user-pool-name", default=_DEFAULTS.user_pool_name,
                        help="the Cognito user pool" + _DEFAULT)
    parser.add_argument("--app-client-name", default=_DEFAULTS.app_client_name,
                        help="its app client" + _DEFAULT)
    parser.add_argument("--oldest-age-alarm", type=int, default=_DEFAULTS.oldest_age_alarm_s,
                        metavar="S", help="alarm when a job message waits longer than this"
                                          + _DEFAULT)
    parser.add_argument("--alarm-topic-arn", help="SNS topic the alarms notify")
    parser.add_argument("--name-prefix", default=_DEFAULTS.name_prefix,
                        help="IAM roles and instance profiles are named PREFIX-worker, "
                             "PREFIX-controller, PREFIX-gateway, PREFIX-monitoring, "
                             "PREFIX-gallery, PREFIX-streaming (default %(default)s)")
    parser.add_argument("--no-iam", dest="iam", action="store_false",
                        help="leave the IAM roles and instance profiles alone")

    fleet = parser.add_argument_group("worker fleet (with --with-fleet)")
    fleet.add_argument("--with-fleet", action="store_true",
                       help="also the launch template and Auto Scaling group")
    fleet.add_argument("--ami-id", help="worker AMI (default: newest videoforge-worker-* "
                                        "image of this account)")
    fleet.add_argument("--instance-type", default=_FLEET.instance_type, help="the workers'"
                       + _DEFAULT)
    fleet.add_argument("--subnet-ids", help="the instances' and load balancer's subnets, "
                                            "comma-separated (default: the default VPC's)")
    fleet.add_argument("--instance-profile",
                       help="IAM instance profile for the workers (default: PREFIX-worker, "
                            "made by this run)")
    fleet.add_argument("--user-data-file", type=Path,
                       help="cloud-init user data (default: point the instance at the "
                            "provisioned settings)")
    fleet.add_argument("--min", type=int, default=_FLEET.min_size,
                       help="the group's smallest size" + _DEFAULT)
    fleet.add_argument("--max", type=int, default=_FLEET.max_size,
                       help="its largest" + _DEFAULT)
    fleet.add_argument("--desired", type=int, default=_FLEET.desired,
                       help="initial size only: later runs leave it to the autoscaler"
                            + _DEFAULT)
    fleet.add_argument("--lifecycle-hook", metavar="NAME",
                       help="add a termination lifecycle hook of this name (heartbeat "
                            f"timeout {HOOK_HEARTBEAT_TIMEOUT_S} s) so workers can drain")
    _data_arguments(parser)
    _gateway_arguments(parser)
    _control_arguments(parser)


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group(
        "database and Redis (in private subnets with a NAT gateway, made unless given)")
    data.add_argument("--with-database", action="store_true",
                      help="an RDS PostgreSQL instance, named PREFIX (its URL, password "
                           "inside, goes to the provisioned settings only)")
    data.add_argument("--database-url", metavar="URL",
                      help="or: a PostgreSQL database of your own, stored in the settings")
    data.add_argument("--database-instance-class", default=_DATABASE.instance_class,
                      help=_DEFAULT.lstrip())
    data.add_argument("--database-storage-gb", type=int, default=_DATABASE.storage_gb,
                      help=_DEFAULT.lstrip())
    data.add_argument("--database-max-storage-gb", type=int, default=_DATABASE.max_storage_gb,
                      help="storage autoscaling's ceiling" + _DEFAULT)
    data.add_argument("--database-multi-az", action="store_true",
                      help="a standby in a second zone")
    data.add_argument("--with-redis", action="store_true",
                      help="an ElastiCache Redis replication group, named PREFIX (TLS, AUTH)")
    data.add_argument("--redis-url", metavar="URL", help="or: a Redis of your own")
    data.add_argument("--redis-node-type", default=_CACHE.node_type, help=_DEFAULT.lstrip())
    data.add_argument("--redis-replicas", type=int, default=_CACHE.replicas,
                      help="replicas beside the primary" + _DEFAULT)
    data.add_argument("--private-subnet-ids",
                      help="private subnets (with a route out through NAT) for the database, "
                           "Redis and the functions (default: two made here)")


def _control_arguments(parser: argparse.ArgumentParser) -> None:
    control = parser.add_argument_group("control group (with --with-control)")
    control.add_argument("--with-control", action="store_true",
                         help="the control instances: migrations, the autoscaler, the "
                              "webhook notifier")
    control.add_argument("--control-ami-id", help="control AMI (default: newest "
                                                  f"{CONTROL_AMI_PATTERN} image of this "
                                                  "account)")
    control.add_argument("--control-instance-type", default=_CONTROL.fleet.instance_type,
                         help=_DEFAULT.lstrip())
    control.add_argument("--control-size", type=int, default=_CONTROL.fleet.max_size,
                         help="instances (one autoscaler runs; the others wait to take over)"
                              + _DEFAULT)
    control.add_argument("--control-user-data-file", type=Path, help="cloud-init user data")


def _gateway_arguments(parser: argparse.ArgumentParser) -> None:
    gateway = parser.add_argument_group("gateway (with --with-gateway)")
    gateway.add_argument("--with-gateway", action="store_true",
                         help="also the load balancer, target group and the gateway's own "
                              "launch template and Auto Scaling group")
    gateway.add_argument("--gateway-ami-id", help="gateway AMI (default: newest "
                                                  f"{GATEWAY_AMI_PATTERN} image of this account)")
    gateway.add_argument("--gateway-instance-type", default=_GATEWAY.fleet.instance_type,
                         help=_DEFAULT.lstrip())
    gateway.add_argument("--gateway-min", type=int, default=_GATEWAY.fleet.min_size,
                         help=_DEFAULT.lstrip())
    gateway.add_argument("--gateway-max", type=int, default=_GATEWAY.fleet.max_size,
                         help=_DEFAULT.lstrip())
    gateway.add_argument("--gateway-user-data-file", type=Path,
                         help="cloud-init user data (writes /etc/videoforge/gateway.local.env)")
    gateway.add_argument("--certificate-arn", help="ACM certificate: HTTPS on 443, HTTP "
                                                   "redirected (default: HTTP on 80 only)")
    gateway.add_argument("--domain-name", help="the site's name: the default CORS origin, and "
                                               "with --hosted-zone-id an alias record to the "
                                               "load balancer")
    gateway.add_argument("--hosted-zone-id", help="the Route 53 hosted zone of --domain-name")


def _read(path: Path | None) -> str | None:
    try:
        return path.read_text() if path else None
    except OSError as exc:
        raise ProvisionError(f"cannot read user data: {exc}", exit_code=2) from exc


def _gateway(args: argparse.Namespace, subnets: tuple[str, ...]) -> GatewaySpec | None:
    if not args.with_gateway:
        return None
    name = f"{args.name_prefix}-gateway"
    fleet = replace(_GATEWAY.fleet, group_name=name, template_name=name,
                    ami_id=args.gateway_ami_id, instance_type=args.gateway_instance_type,
                    subnet_ids=subnets, user_data=_read(args.gateway_user_data_file),
                    min_size=args.gateway_min, max_size=args.gateway_max,
                    desired=max(args.gateway_min, min(_GATEWAY.fleet.desired, args.gateway_max)))
    return GatewaySpec(name=name, fleet=fleet, certificate_arn=args.certificate_arn,
                       domain_name=args.domain_name, hosted_zone_id=args.hosted_zone_id)


def _control(args: argparse.Namespace, subnets: tuple[str, ...]) -> ControlSpec | None:
    if not args.with_control:
        return None
    name = f"{args.name_prefix}-control"
    size = args.control_size
    return ControlSpec(fleet=replace(
        _CONTROL.fleet, group_name=name, template_name=name, ami_id=args.control_ami_id,
        instance_type=args.control_instance_type, subnet_ids=subnets,
        user_data=_read(args.control_user_data_file), min_size=size, max_size=size,
        desired=size))


def _origins(args: argparse.Namespace) -> tuple[str, ...]:
    if args.cors_origins:
        return tuple(args.cors_origins)
    if args.domain_name:
        scheme = "https" if args.certificate_arn else "http"
        return (f"{scheme}://{args.domain_name.rstrip('.')}",)
    return _DEFAULTS.cors_origins


def _ids(text: str | None) -> tuple[str, ...]:
    return tuple(s.strip() for s in (text or "").split(",") if s.strip())


def _config(args: argparse.Namespace, settings: AutoscalerSettings) -> ProvisionConfig:
    fleet = None
    subnets = _ids(args.subnet_ids)
    if args.with_fleet:
        user_data = _read(args.user_data_file)
        fleet = FleetSpec(
            group_name=settings.autoscaler_asg_name, template_name=settings.autoscaler_asg_name,
            ami_id=args.ami_id,
            instance_type=args.instance_type,
            subnet_ids=subnets,
            instance_profile=args.instance_profile, user_data=user_data,
            min_size=args.min, max_size=args.max, desired=args.desired,
            lifecycle_hook=args.lifecycle_hook,
        )
    if args.hosted_zone_id and not (args.domain_name and args.with_gateway):
        raise ProvisionError("--hosted-zone-id goes with --domain-name and --with-gateway",
                             exit_code=2)
    name = args.name_prefix
    return ProvisionConfig(
        kms_key_id=args.kms_key_id,
        cors_origins=_origins(args),
        upload_expiry_days=args.upload_expiry_days,
        max_receive_count=args.max_receive_count,
        visibility_timeout_s=args.visibility_timeout,
        user_pool_name=args.user_pool_name, app_client_name=args.app_client_name,
        oldest_age_alarm_s=args.oldest_age_alarm, alarm_topic_arn=args.alarm_topic_arn,
        fleet=fleet, gateway=_gateway(args, subnets), control=_control(args, subnets),
        iam=args.iam, name_prefix=name, worker_group=settings.autoscaler_asg_name,
        database=DatabaseSpec(
            identifier=name, instance_class=args.database_instance_class,
            storage_gb=args.database_storage_gb, max_storage_gb=args.database_max_storage_gb,
            multi_az=args.database_multi_az, kms_key_id=args.kms_key_id,
        ) if args.with_database else None,
        database_url=args.database_url,
        cache=CacheSpec(identifier=name, node_type=args.redis_node_type,
                        replicas=args.redis_replicas) if args.with_redis else None,
        redis_url=args.redis_url,
        subnet_ids=subnets, private_subnet_ids=_ids(args.private_subnet_ids),
    )


def print_table(report: Report) -> None:
    rows = [(r.kind, r.name, r.outcome.value, ", ".join(r.changes)) for r in report.results]
    widths = [max(len(row[i]) for row in [("RESOURCE", "NAME", "OUTCOME", "")] + rows)
              for i in range(3)]
    for row in [("RESOURCE", "NAME", "OUTCOME", "CHANGED")] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True))
              + ("  " + row[3] if row[3] else ""))
    print()
    print("Changes applied." if report.changed else "Nothing changed: everything is up to date.")
    print()
    for key, value in report.env().items():
        print(f"{key}={value}")
    for key in ("queue_url", "dead_letter_queue_url", "launch_template_id", "load_balancer_url",
                "site_url", "database_endpoint", "redis_endpoint"):
        if key in report.outputs:
            print(f"# {key}: {report.outputs[key]}")


def report(make: Callable[[], Report], *, as_json: bool) -> int:
    """Run ``make`` and print its report (table or JSON); errors as one ``error:`` line."""
    try:
        done = make()
    except ProvisionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except NoCredentialsError:
        print("error: no AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
              "AWS_SECRET_ACCESS_KEY)", file=sys.stderr)
        return 1
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"error: AWS refused {exc.operation_name}: {error.get('Code')}: "
              f"{error.get('Message')}", file=sys.stderr)
        return 1
    except BotoCoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps({
            "changed": done.changed,
            "resources": [{**asdict(r), "outcome": r.outcome.value} for r in done.results],
            "outputs": done.outputs,
            "env": done.env(),
        }, indent=2))
    else:
        print_table(done)
    return 0


def run(args: argparse.Namespace) -> int:
    settings = AutoscalerSettings()
    return report(lambda: provision(settings, _config(args, settings)), as_json=args.json)
