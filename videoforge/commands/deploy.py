"""``videoforge deploy lambdas``: package gallery and streaming and deploy them as Lambda
functions behind an HTTP API; a second run with the same code and settings changes nothing.

The functions' environment is their settings: what ``videoforge provision`` stored (the
secret PREFIX/runtime: database, Redis, buckets, queue, user pool, signing key), under the
``VF_*`` variables this shell sets, which win. Memory and timeout come from
``VF_LAMBDA_MEMORY_MB`` and ``VF_LAMBDA_TIMEOUT_S``. Roles come from ``videoforge
provision`` (PREFIX-gallery, PREFIX-streaming). The functions run in the private subnets
provision made (with its PREFIX-lambda security group), so they reach the database; or in
``--subnet-ids``; or, with no private subnets, outside any VPC.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from pydantic import ValidationError

from videoforge.cli import EXIT_BAD_INPUT
from videoforge.commands.provision import report
from videoforge.provision.plan import ProvisionConfig, Report
from videoforge.provision.results import ProvisionError

_DEFAULTS = ProvisionConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=["lambdas"], help="what to deploy")
    parser.add_argument("--name-prefix", default=_DEFAULTS.name_prefix,
                        help="functions PREFIX-gallery / PREFIX-streaming, API PREFIX-api "
                             "(default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    network = parser.add_mutually_exclusive_group()
    network.add_argument("--subnet-ids", help="comma-separated subnets the functions run in "
                                              "(default: provision's private subnets)")
    network.add_argument("--no-vpc", action="store_true",
                         help="run the functions outside any VPC")
    parser.add_argument("--security-group-ids",
                        help="comma-separated (default: provision's PREFIX-lambda group)")


@contextmanager
def _environment_under(stored: Mapping[str, str]) -> Iterator[None]:
    """``stored`` in the environment wherever this shell sets nothing, for a moment."""
    added = {key: value for key, value in stored.items() if key not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _ids(text: str | None) -> tuple[str, ...]:
    return tuple(s.strip() for s in (text or "").split(",") if s.strip())


def run(args: argparse.Namespace) -> int:
    # Imported here: packaging reads every installed distribution's metadata.
    from common import aws
    from common.settings import CommonSettings
    from videoforge.provision import runtime_config
    from videoforge.provision.deploy_lambdas import AUTO, deploy_lambdas, placement
    from videoforge.provision.lambdas import FUNCTIONS, LambdaSettings, VpcPlacement
    from videoforge.services import settings_for

    def deploy() -> Report:
        shell = CommonSettings()
        stored = runtime_config.read(aws.client("secretsmanager", shell),
                                     runtime_config.secret_name(args.name_prefix)) or {}
        try:
            with _environment_under(stored):
                limits = LambdaSettings()
                settings = {service: settings_for(service) for service in FUNCTIONS}
        except ValidationError as exc:
            raise ProvisionError(f"bad settings: {exc.errors()[0]['msg']}",
                                 exit_code=EXIT_BAD_INPUT) from None
        vpc: VpcPlacement | str | None = AUTO
        if args.no_vpc:
            if args.security_group_ids:
                raise ProvisionError("--no-vpc takes no security groups",
                                     exit_code=EXIT_BAD_INPUT)
            vpc = None
        elif args.subnet_ids or args.security_group_ids:
            vpc = placement(aws.client("ec2", shell), prefix=args.name_prefix,
                            subnet_ids=_ids(args.subnet_ids),
                            security_group_ids=_ids(args.security_group_ids))
        return deploy_lambdas(settings, prefix=args.name_prefix, limits=limits, vpc=vpc)

    return report(deploy, as_json=args.json)
