"""``videoforge singleton [--poll S] [--kill-after S] NAME -- COMMAND [ARGS]``:
run ``videoforge COMMAND`` while
holding the lock NAME in the database, waiting while another process anywhere holds it.

Options go before NAME; everything after it is the command. The control instances run
``singleton autoscaler -- autoscaler`` and
``singleton migrate -- migrate``: however many run, one autoscaler sizes the fleet and one
migration runs at a time. If the lock's session is lost while the command runs, the
command gets SIGTERM (its own graceful stop) and, if still running ``--kill-after`` seconds
later, the process exits with 75 so systemd starts it again (and it waits its turn).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time

from common.logging import configure_logging, get_logger
from common.settings import CommonSettings
from videoforge.cli import EXIT_BAD_INPUT, main
from videoforge.singleton import NotPostgres, SingletonLock, Watchdog

log = get_logger(__name__)
EXIT_LOCK_LOST = 75   # EX_TEMPFAIL: try again later


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--poll", type=float, default=5.0, metavar="S",
                        help="seconds between attempts while another holds the lock")
    parser.add_argument("--kill-after", type=float, default=30.0, metavar="S",
                        help="after the lock is lost, seconds the command gets to stop")
    # Last: everything after NAME is the command (so the options above come before NAME).
    parser.add_argument("name", help="the lock's name (one holder per name and database)")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- then the videoforge command and its options")


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, _frame: object) -> None:
        log.info("singleton_stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def _lost(kill_after_s: float) -> None:
    os.kill(os.getpid(), signal.SIGTERM)

    def last_resort() -> None:
        time.sleep(kill_after_s)
        log.error("singleton_command_did_not_stop", after_s=kill_after_s)
        os._exit(EXIT_LOCK_LOST)

    threading.Thread(target=last_resort, daemon=True).start()


def run(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("error: give the command after --, e.g. singleton autoscaler -- autoscaler",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    settings = CommonSettings()
    configure_logging(env=settings.env, level=settings.log_level)
    holder = f"{socket.gethostname()}-{os.getpid()}"
    try:
        lock = SingletonLock(settings.database_url, args.name, holder=holder)
    except NotPostgres as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    stop = threading.Event()
    _stop_on_signals(stop)
    if not lock.acquire(poll_s=args.poll, stop=stop):
        return 0
    # The command installs its own signal handlers; from here a SIGTERM is its to handle.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    lost = threading.Event()

    def on_lost() -> None:
        lost.set()
        _lost(args.kill_after)

    watchdog = Watchdog(lock, on_lost)
    watchdog.start()
    try:
        code = main(command)
    finally:
        watchdog.stop()
        watchdog.join(timeout=1)
        lock.release()
    return EXIT_LOCK_LOST if lost.is_set() else code
