"""``videoforge runtime-env --output FILE``: write the settings ``videoforge provision``
stored (the secret named by ``VF_RUNTIME_SECRET``) as a systemd environment file.

Instances run it at boot (the app role's ``videoforge-runtime-env`` unit) with their own
role; the VideoForge units read FILE after their baked defaults.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from common import aws
from common.settings import CommonSettings
from videoforge.cli import EXIT_BAD_INPUT, EXIT_FAILURE
from videoforge.provision import runtime_config
from videoforge.provision.results import ProvisionError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, required=True, help="environment file to write")
    parser.add_argument("--secret", help="secret name or ARN (default: "
                                         f"${runtime_config.SECRET_VARIABLE})")


def run(args: argparse.Namespace) -> int:
    secret = args.secret or os.environ.get(runtime_config.SECRET_VARIABLE)
    if not secret:
        print(f"error: no secret: pass --secret or set {runtime_config.SECRET_VARIABLE}",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        settings = runtime_config.read(aws.client("secretsmanager", CommonSettings()), secret)
        if settings is None:
            raise ProvisionError(f"no secret {secret}: run `videoforge provision` first")
        runtime_config.write_env_file(args.output, settings)
    except (ProvisionError, ClientError, BotoCoreError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"{len(settings)} settings from {secret} written to {args.output}")
    return 0
