"""``videoforge notifier``: deliver the events outbox to webhook endpoints.

Run one or several (they share the work through the database); the first SIGTERM lets
the attempts in flight finish, a second exits at once.
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from common.db import session_factory
from common.logging import configure_logging, get_logger
from common.metrics import serve_metrics
from notifier.service import Notifier
from notifier.settings import NotifierSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true",
                        help="fan out, attempt every delivery that is due, wait, exit")
    parser.add_argument("--concurrency", type=int, metavar="N",
                        help="attempts in flight at once (default VF_WEBHOOK_CONCURRENCY or 8)")
    parser.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="Prometheus port, 0 = off (default VF_NOTIFIER_METRICS_PORT "
                             "or 9103)")


def run(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in {"webhook_concurrency": args.concurrency,
                                   "notifier_metrics_port": args.metrics_port}.items()
                 if v is not None}
    try:
        settings = NotifierSettings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"error: {'.'.join(map(str, first['loc']))}: {first['msg']}", file=sys.stderr)
        return 2
    configure_logging(env=settings.env, level=settings.log_level)
    log = get_logger("videoforge.notifier")
    notifier = Notifier(settings, sessions=session_factory(settings.database_url))
    if settings.notifier_metrics_port and not args.once:
        serve_metrics(settings.notifier_metrics_port)
        log.info("metrics_serving", port=settings.notifier_metrics_port)
    notifier.install_signal_handlers()
    return notifier.run(once=args.once)
