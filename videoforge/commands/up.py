"""``videoforge up``: the whole platform on this machine, until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
from pathlib import Path
from types import FrameType

from rich.console import Console
from sqlalchemy import make_url

from common.logging import configure_logging
from videoforge.cli import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK
from videoforge.client import ApiError, VideoForgeClient
from videoforge.commands.submit import fail, print_outcome, submit_file
from videoforge.stack.local import Endpoints, LocalStack, StackError, StackOptions
from videoforge.stack.processes import ChildExited
from videoforge.stack.sample import make_sample


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8000,
                        help="where the page and the API listen (default %(default)s)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default %(default)s)")
    parser.add_argument("--sample", action="store_true",
                        help="submit a generated clip and show its progress")
    parser.add_argument("--max-workers", type=int, default=2,
                        help="the largest local worker pool (default %(default)s)")
    parser.add_argument("--data-dir", type=Path, default=Path(".videoforge"),
                        help="everything the platform keeps across restarts: database, "
                             "objects, users, logs (default %(default)s)")


# SIGTERM (a service manager) and SIGHUP (the terminal closed) stop the stack the same
# orderly way as Ctrl-C.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _say(console: Console, text: str) -> None:
    """Print if the terminal is still there: a closed one must not stop the shutdown."""
    with contextlib.suppress(OSError):
        console.print(text)


def _banner(console: Console, endpoints: Endpoints, options: StackOptions) -> None:
    console.print(f"\n[bold]VideoForge is up:[/] {endpoints.page_url}")
    console.print(f"  sign in as   {options.demo_user} / {options.demo_password}",
                  markup=False)
    for name, url in endpoints.metrics.items():
        console.print(f"  metrics      {name}: {url}", markup=False, soft_wrap=True)
    if endpoints.prometheus_config:
        console.print(f"  prometheus   prometheus --config.file={endpoints.prometheus_config}",
                      markup=False, soft_wrap=True)
    console.print(f"  data         {endpoints.data_dir}/ (kept across restarts)", markup=False)
    console.print(f"  objects (S3) {endpoints.objects_url}", markup=False)
    console.print(f"  users        {endpoints.identity_url}", markup=False)
    console.print(f"  AWS (moto)   {endpoints.aws_endpoint_url}", markup=False)
    database = make_url(endpoints.database_url).render_as_string(hide_password=True)
    console.print(f"  database     {database}", markup=False)
    console.print(f"  logs         {endpoints.logs}/", markup=False)
    if endpoints.requeued:
        console.print(f"  resumed      {endpoints.requeued} job(s) left waiting by the last "
                      "run", markup=False)
    console.print(f"  submit       VF_PASSWORD='{options.demo_password}' videoforge submit "
                  f"FILE --url {endpoints.page_url.rstrip('/')}", markup=False, soft_wrap=True)
    console.print("Press Ctrl-C to stop.\n")


def _sample(console: Console, stack: LocalStack, options: StackOptions) -> None:
    """Submit a generated clip the way ``videoforge submit`` does; a failure is reported
    and the platform keeps running."""
    assert stack.endpoints
    base = stack.endpoints.page_url.rstrip("/")
    with VideoForgeClient(base) as client:
        try:
            path = make_sample(stack.data_dir / "sample.mp4")
            console.print(f"submitting a generated sample ({path})")
            client.login(options.demo_user, options.demo_password)
            outcome = submit_file(client, path, console=console, title="Sample test pattern")
        except (ApiError, OSError, subprocess.CalledProcessError) as exc:
            fail(f"the sample did not go through: {exc}", EXIT_FAILURE)
            return
    print_outcome(outcome, console=console, base_url=base)


def run(args: argparse.Namespace) -> int:
    # The children log to their files; this process reports through the console only.
    configure_logging(level="WARNING")
    console = Console()
    if args.max_workers < 1:
        return fail("--max-workers must be at least 1", EXIT_BAD_INPUT)
    options = StackOptions.from_env(port=args.port, host=args.host, data_dir=args.data_dir,
                                    max_workers=args.max_workers)
    for signum in _STOP_SIGNALS[1:]:
        signal.signal(signum, _stop)
    stack = LocalStack(options)
    code = EXIT_OK
    try:
        with console.status("starting the local AWS, the database, the gateway and the "
                            "fleet…"):
            endpoints = stack.start()
        _banner(console, endpoints, options)
        if args.sample:
            _sample(console, stack, options)
        stack.supervisor.watch()
    except KeyboardInterrupt:
        pass
    except (StackError, ChildExited, TimeoutError, subprocess.CalledProcessError) as exc:
        code = fail(str(exc), EXIT_FAILURE)
    finally:
        # A second Ctrl-C must not cut the shutdown short and strand children.
        for signum in _STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        started = bool(stack.supervisor.children)
        if started:
            _say(console, "stopping…")
        stack.stop()
        if started:
            _say(console, "stopped.")
    return code
