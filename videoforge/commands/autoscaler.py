"""``videoforge autoscaler``: size the worker fleet with the queue.

Shutdown has two stages, like the worker's: the first SIGTERM/SIGINT stops the loop and
(local pool) asks every worker to finish its job and exit; a second one kills them.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from common.logging import configure_logging, get_logger
from common.metrics import serve_metrics
from processor.autoscaler.settings import AutoscalerSettings

log = get_logger(__name__)

# flag -> settings field it overrides
_OVERRIDES = {
    "backend": "autoscaler_backend",
    "policy": "autoscaler_policy",
    "min": "autoscaler_min_size",
    "max": "autoscaler_max_size",
    "interval": "autoscaler_interval_s",
    "asg_name": "autoscaler_asg_name",
    "metrics_port": "autoscaler_metrics_port",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=["local", "asg"],
                        help="fleet to size (default VF_AUTOSCALER_BACKEND or local)")
    parser.add_argument("--policy", choices=["messages", "work"],
                        help="sizing policy (default VF_AUTOSCALER_POLICY or messages)")
    parser.add_argument("--min", type=int, metavar="N", help="smallest fleet size")
    parser.add_argument("--max", type=int, metavar="N", help="largest fleet size")
    parser.add_argument("--interval", type=float, metavar="S", help="seconds between decisions")
    parser.add_argument("--asg-name", help="Auto Scaling group (asg backend)")
    parser.add_argument("--metrics-port", type=int, help="Prometheus port (0: none)")
    parser.add_argument("--once", action="store_true",
                        help="decide and apply once, print the decision, exit")


def _settings(args: argparse.Namespace) -> AutoscalerSettings:
    base = AutoscalerSettings()
    update = {field: getattr(args, flag) for flag, field in _OVERRIDES.items()
              if getattr(args, flag, None) is not None}
    # Validate the overrides too (model_copy alone would not).
    return AutoscalerSettings.model_validate({**base.model_dump(), **update})


def _install_signals(controller: Any) -> None:
    received = 0

    def handle(signum: int, _frame: FrameType | None) -> None:
        nonlocal received
        received += 1
        if received == 1:
            log.info("autoscaler_stopping", signal=signal.Signals(signum).name)
            controller.stop()
        else:
            log.warning("autoscaler_killing_workers")
            kill = getattr(controller.backend, "kill", None)
            if kill:
                kill()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def run(args: argparse.Namespace) -> int:
    from processor.autoscaler.factory import build_controller

    try:
        settings = _settings(args)
        controller = build_controller(settings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"error: cannot reach the job queue: {exc}", file=sys.stderr)
        return 1
    configure_logging(env=settings.env, level=settings.log_level)
    if not args.once:
        _install_signals(controller)
        serve_metrics(settings.autoscaler_metrics_port)
    log.info("autoscaler_started", backend=controller.backend.name,
             policy=controller.autoscaler.config.policy,
             min_size=controller.autoscaler.config.min_size,
             max_size=controller.autoscaler.config.max_size,
             interval_s=settings.autoscaler_interval_s)
    try:
        if args.once:
            tick = controller.tick()
            print(f"desired {tick.decision.desired} ({tick.decision.direction}): "
                  f"{tick.decision.reason}")
        else:
            controller.run()
    finally:
        controller.backend.close(drain=True)
        log.info("autoscaler_stopped")
    return 0
