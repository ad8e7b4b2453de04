"""``videoforge worker``: a fleet member — poll the job queue and transcode, one job at a time."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from common import aws
from common.broker import SqsBroker
from common.db import session_factory
from common.logging import configure_logging, get_logger
from common.metrics import serve_metrics
from processor.dead_letters import sweep
from processor.housekeeping import Housekeeping
from processor.instance_metadata import InstanceMetadata
from processor.job_runner import JobRunner
from processor.lifecycle import LifecycleHook
from processor.outputs import Outputs
from processor.protection import AutoScalingProtection, protection_for
from processor.settings import ProcessorSettings
from processor.termination import TerminationWatch
from processor.wakeups import reconcile
from processor.worker import Worker

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true",
                        help="handle one message, then exit (same as --max-jobs 1)")
    parser.add_argument("--max-jobs", type=int, metavar="N",
                        help="exit after handling N messages")
    parser.add_argument("--burst", action="store_true",
                        help="exit as soon as a poll finds the queue empty")
    parser.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="Prometheus metrics port, 0 = off (default: VF_METRICS_PORT)")
    parser.add_argument("--sweep-dlq", action="store_true",
                        help="mark FAILED the jobs whose messages are in the dead-letter "
                             "queue, then exit")


def run(args: argparse.Namespace) -> int:
    settings = ProcessorSettings()
    if args.metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": args.metrics_port})
    configure_logging(env=settings.env, level=settings.log_level)
    log = get_logger("videoforge.worker")
    sessions = session_factory(settings.database_url)
    sqs = aws.client("sqs", settings)
    dlq = _dead_letter_queue(sqs, settings)
    if args.sweep_dlq:
        if dlq is None:
            print(f"no dead-letter queue named {settings.dead_letter_queue_name!r}")
            return 1
        failed = sweep(dlq, sessions, stale_after=settings.stale_after(),
                       outputs=Outputs(aws.client("s3", settings), bucket=settings.media_bucket))
        print(f"{failed} dead-lettered job(s) marked FAILED")
        return 0
    broker = SqsBroker.from_name(sqs, settings.jobs_queue_name)
    runner = JobRunner(settings, broker=broker, sessions=sessions, s3=aws.client("s3", settings))
    housekeeping = _housekeeping(settings, broker=broker, dlq=dlq, sessions=sessions,
                                 outputs=runner.outputs)
    protection = protection_for(settings)
    worker = Worker(settings, runner=runner, broker=broker, protection=protection,
                    housekeeping=housekeeping, lifecycle=_lifecycle_hook(settings, protection),
                    termination=_termination_watch(settings, protection))
    if settings.metrics_port:
        serve_metrics(settings.metrics_port)
        log.info("metrics_serving", port=settings.metrics_port)
    worker.install_signal_handlers()
    return worker.run(max_jobs=1 if args.once else args.max_jobs, burst=args.burst)


def _housekeeping(settings: ProcessorSettings, *, broker: SqsBroker, dlq: SqsBroker | None,
                  sessions: sessionmaker[Session], outputs: Outputs) -> Housekeeping:
    """What an idle worker does every VF_DLQ_SWEEP_INTERVAL_S: resend missing wake-up
    tokens, and fail the jobs of dead-lettered ones."""
    chores = {"reconcile_tokens": lambda: reconcile(broker, sessions)}
    if dlq is not None:
        chores["dead_letter_sweep"] = lambda: sweep(
            dlq, sessions, stale_after=settings.stale_after(), outputs=outputs)
    return Housekeeping(chores, interval_s=settings.dlq_sweep_interval_s)


def _lifecycle_hook(settings: ProcessorSettings, protection: object) -> LifecycleHook | None:
    """The group's termination hook, when this worker is an Auto Scaling instance."""
    if not (settings.lifecycle_hook and isinstance(protection, AutoScalingProtection)):
        return None
    return LifecycleHook(aws.client("autoscaling", settings), group_name=protection.group_name,
                         hook_name=settings.lifecycle_hook, instance_id=protection.instance_id)


def _termination_watch(settings: ProcessorSettings,
                       protection: object) -> TerminationWatch | None:
    """Spot and Auto Scaling termination notices, for a worker that is an Auto Scaling
    instance (off EC2 there is no instance metadata to read)."""
    if not (settings.termination_check_interval_s
            and isinstance(protection, AutoScalingProtection)):
        return None
    return TerminationWatch(InstanceMetadata(settings.imds_endpoint),
                            interval_s=settings.termination_check_interval_s)


def _dead_letter_queue(sqs: SQSClient, settings: ProcessorSettings) -> SqsBroker | None:
    """The dead-letter queue, if there is one (a queue without redrive has none)."""
    try:
        return SqsBroker.from_name(sqs, settings.dead_letter_queue_name)
    except sqs.exceptions.QueueDoesNotExist:
        get_logger(__name__).warning("no_dead_letter_queue",
                                     name=settings.dead_letter_queue_name)
        return None
