"""``videoforge deploy lambdas``: package gallery and streaming and deploy them as Lambda
functions behind an HTTP API; a second run with the same code and settings changes nothing.

The functions' environment is their settings as this shell has them (``VF_*``: database,
buckets, queue, user pool, …); memory and timeout come from ``VF_LAMBDA_MEMORY_MB`` and
``VF_LAMBDA_TIMEOUT_S``. Roles come from ``videoforge provision`` (PREFIX-gallery,
PREFIX-streaming).
"""

from __future__ import annotations

import argparse

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


def run(args: argparse.Namespace) -> int:
    # Imported here: packaging reads every installed distribution's metadata.
    from videoforge.provision.deploy_lambdas import deploy_lambdas
    from videoforge.provision.lambdas import FUNCTIONS, LambdaSettings
    from videoforge.services import settings_for

    def deploy() -> Report:
        try:
            limits = LambdaSettings()
            settings = {service: settings_for(service) for service in FUNCTIONS}
        except ValidationError as exc:
            raise ProvisionError(f"bad settings: {exc.errors()[0]['msg']}",
                                 exit_code=EXIT_BAD_INPUT) from None
        return deploy_lambdas(settings, prefix=args.name_prefix, limits=limits)

    return report(deploy, as_json=args.json)
