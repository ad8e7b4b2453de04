"""The worker loop: receive one delivery at a time and hand it to the job runner.

Shutdown has two stages. The first SIGTERM/SIGINT stops receiving; the job in hand gets
``drain_timeout_s`` to finish, then FFmpeg is stopped and the job is released (back to
QUEUED, its message visible at once). A second signal exits at once: the message comes
back after its visibility timeout and the next worker takes the stale job over.

The instance's own end (a spot interruption, Auto Scaling terminating it) is watched for
all along, busy or idle (``processor/termination.py``): it starts the same drain, with a
release deadline that leaves another worker time to take the job over.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from common.broker import Broker
from common.logging import bound, get_logger
from processor.heartbeat import StopReason, StopSignal
from processor.housekeeping import Housekeeping
from processor.job_runner import JobRunner
from processor.lifecycle import LifecycleHook
from processor.outcome import Outcome
from processor.protection import NoProtection, ScaleInProtection
from processor.settings import ProcessorSettings
from processor.termination import TerminationNotice, TerminationWatch

log = get_logger(__name__)

# After an unexpected error the loop pauses this long before polling again.
_ERROR_PAUSE_S = 5.0


class _Interrupted(BaseException):
    """Raised by the signal handler to end an idle long poll at once."""


class Worker:
    def __init__(
        self,
        settings: ProcessorSettings,
        *,
        runner: JobRunner,
        broker: Broker,
        protection: ScaleInProtection | None = None,
        housekeeping: Housekeeping | None = None,
        lifecycle: LifecycleHook | None = None,
        termination: TerminationWatch | None = None,
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.broker = broker
        self.protection = protection or NoProtection()
        self.housekeeping = housekeeping  # dead-letter sweep, token reconciliation
        # An Auto Scaling termination hook: the instance waits for our drain, then goes.
        self.lifecycle = lifecycle
        # Spot interruption and Auto Scaling termination notices, read while busy too.
        self.termination = termination
        self.stopping = threading.Event()
        self._current: StopSignal | None = None
        self._idle = False
        self._signals = 0
        self._drain_timer: threading.Timer | None = None
        self._release_at: float | None = None  # monotonic deadline of the current drain
        self._shutdown_lock = threading.RLock()  # the watch thread and signals both drain

    def run(self, *, max_jobs: int | None = None, burst: bool = False) -> int:
        """Work until shut down, after ``max_jobs`` handled messages, or (``burst``) when
        a poll finds the queue empty. Returns the exit code."""
        handled = 0
        log.info("worker_started", worker_id=self.settings.worker_id)
        if self.termination is not None:
            self.termination.start(self.on_termination)
        try:
            while not self.stopping.is_set():
                try:
                    outcome = self.step()
                except _Interrupted:
                    break
                except Exception:
                    # The queue or the database is unreachable beyond the retries: an
                    # unfinished job's message returns on its own; wait, then poll again.
                    log.exception("worker_step_failed")
                    self.stopping.wait(_ERROR_PAUSE_S)
                    continue
                if outcome is None:
                    if burst:
                        break
                    continue
                if outcome.ran_a_job:
                    handled += 1
                if max_jobs is not None and handled >= max_jobs:
                    break
        finally:
            if self.termination is not None:
                self.termination.stop()
            if self._drain_timer is not None:
                self._drain_timer.cancel()
            self.protection.unprotect()
            if self.lifecycle is not None and self.stopping.is_set():
                self.lifecycle.end_drain()
        log.info("worker_stopped", handled=handled)
        return 0

    def step(self, wait_s: int | None = None) -> Outcome | None:
        """One poll; the delivery it brings (if any) is processed to its outcome."""
        if self.housekeeping is not None:
            self.housekeeping.maybe_run()
        self._idle = True
        try:
            delivery = self.broker.receive(
                wait_s=self.settings.poll_wait_s if wait_s is None else wait_s)
        finally:
            self._idle = False
        if delivery is None:
            self.protection.unprotect()
            return None
        stop = StopSignal()
        self._current = stop  # before the check: a drain from now on sees this job
        if self.stopping.is_set():
            # Draining began during the poll: take no new job, hand the message back.
            self._current = None
            self.broker.release(delivery)
            return None
        self.protection.protect()
        try:
            with bound(message_id=delivery.message_id):
                return self.runner.process(delivery, stop)
        finally:
            self._current = None

    def request_shutdown(self, *, release_within_s: float | None = None) -> None:
        """Stage one: receive nothing more; release the current job after the drain time
        (or ``release_within_s``, if sooner; a later, sooner request shortens it)."""
        within = self.settings.drain_timeout_s if release_within_s is None else release_within_s
        with self._shutdown_lock:
            release_at = time.monotonic() + within
            if self._release_at is not None and release_at >= self._release_at:
                return
            first = not self.stopping.is_set()
            self.stopping.set()
            self._release_at = release_at
            log.info("worker_draining", release_within_s=round(within, 1))
            if first and self.lifecycle is not None:
                self.lifecycle.begin_drain()
            if self._drain_timer is not None:
                self._drain_timer.cancel()
            self._drain_timer = threading.Timer(within, self._drain_expired)
            self._drain_timer.daemon = True
            self._drain_timer.start()

    def on_termination(self, notice: TerminationNotice) -> None:
        """The instance is going: drain, and release the job in time for a takeover."""
        self.request_shutdown(release_within_s=notice.release_within_s(
            now=datetime.now(UTC), drain_timeout_s=self.settings.drain_timeout_s,
            release_margin_s=self.settings.termination_release_margin_s,
            hook=self.lifecycle is not None))

    def _drain_expired(self) -> None:
        current = self._current
        if current is not None:
            log.warning("drain_timeout_releasing_job")
            current.request(StopReason.SHUTDOWN)

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second_signal_exiting_now", signal=signum)
            _kill_children()
            os._exit(128 + signum)
        self.request_shutdown()
        if self._idle:
            raise _Interrupted


def _kill_children() -> None:
    """SIGKILL this process's children (FFmpeg): ``os._exit`` would leave them running."""
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # Fields after the ")" that closes the command name: state, ppid, ...
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == me:
                os.kill(int(stat.parent.name), signal.SIGKILL)
