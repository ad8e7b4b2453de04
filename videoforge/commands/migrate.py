"""``videoforge migrate``: run the Alembic migrations against VF_DATABASE_URL."""

from __future__ import annotations

import argparse

from common.db import migrate
from common.settings import CommonSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", help="default: VF_DATABASE_URL")
    parser.add_argument("--revision", default="head")


def run(args: argparse.Namespace) -> int:
    url = args.database_url or CommonSettings().database_url
    migrate(url, args.revision)
    print(f"schema at {args.revision}")
    return 0
