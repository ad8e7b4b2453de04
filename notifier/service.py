"""The notifier loop: fan the outbox out, claim due deliveries, attempt them in a pool.

Every decision lives in the database (common/webhook_deliveries.py), so any number of
notifiers can run, and a notifier that dies loses nothing: events it had not fanned out
are still undispatched, and attempts it held come due again when their lease runs out.

Shutdown has two stages: the first SIGTERM/SIGINT stops claiming and gives the attempts
in flight ``notifier_drain_timeout_s`` to finish; a second exits at once.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from types import FrameType

from sqlalchemy.orm import Session, sessionmaker

from common.db import transaction
from common.logging import bound, get_logger
from common.models import utcnow
from common.webhook_deliveries import Claim, claim_due, fail, fan_out, succeed
from notifier import housekeeping, metrics
from notifier.backoff import retry_delay_s
from notifier.sender import Result, Sender
from notifier.settings import NotifierSettings

log = get_logger(__name__)

# After an unexpected error (the database unreachable) the loop pauses this long.
_ERROR_PAUSE_S = 5.0
Clock = Callable[[], datetime]


class Notifier:
    def __init__(self, settings: NotifierSettings, *, sessions: sessionmaker[Session],
                 sender: Sender | None = None, clock: Clock = utcnow,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.sender = sender or Sender(settings)
        self.clock = clock
        self.rng = rng or random.Random()
        self.stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=settings.webhook_concurrency,
                                        thread_name_prefix="webhook")
        self._in_flight: set[Future[None]] = set()
        self._housekeeping = housekeeping.Housekeeping(settings)
        self._signals = 0

    # -- one step ---------------------------------------------------------------------

    def step(self) -> int:
        """Fan out new events, claim as many due deliveries as there are free slots, and
        start their attempts. Returns the attempts started."""
        self._reap()
        now = self.clock()
        with transaction(self.sessions) as session:
            made = fan_out(session, now=now)
        metrics.EVENTS_DISPATCHED.inc(made.events)
        metrics.DELIVERIES_CREATED.inc(made.deliveries)
        free = self.settings.webhook_concurrency - len(self._in_flight)
        claims: list[Claim] = []
        if free > 0:
            with transaction(self.sessions) as session:
                claims = claim_due(session, claimer=self.settings.notifier_id, now=now,
                                   limit=free, lease=self.settings.lease())
        for claim in claims:
            self._in_flight.add(self._pool.submit(self._attempt, claim))
        with transaction(self.sessions) as session:
            self._housekeeping.maybe_run(session, now=now)
        return len(claims)

    def drain(self, timeout_s: float | None = None) -> bool:
        """Wait for the attempts in flight; True if none is left."""
        wait(self._in_flight, timeout=timeout_s)
        self._reap()
        return not self._in_flight

    def _reap(self) -> None:
        for future in [f for f in self._in_flight if f.done()]:
            self._in_flight.discard(future)
            if (exc := future.exception()) is not None:
                # Its lease runs out and the delivery comes due again.
                log.error("webhook_attempt_crashed", error_type=type(exc).__name__,
                          error=str(exc)[:300])

    # -- one attempt (pool threads) -----------------------------------------------------

    def _attempt(self, claim: Claim) -> None:
        with bound(delivery_id=claim.delivery_id, event_id=claim.event_id,
                   endpoint_id=claim.endpoint_id, attempt=claim.attempt):
            started = time.monotonic()
            metrics.IN_FLIGHT.inc()
            try:
                result = self.sender.send(claim, now=self.clock())
            finally:
                metrics.IN_FLIGHT.dec()
                metrics.ATTEMPT_SECONDS.observe(time.monotonic() - started)
            code = result.status_code
            metrics.RESPONSES.labels(f"{code // 100}xx" if code else "none").inc()
            self._record(claim, result)

    def _record(self, claim: Claim, result: Result) -> None:
        now = self.clock()
        with transaction(self.sessions) as session:
            if result.ok:
                outcome = "succeeded" if succeed(session, claim, status_code=result.status_code
                                                 or 200, now=now) else "lost"
                failure = None
            else:
                delay = retry_delay_s(claim.attempt, base_s=self.settings.webhook_retry_base_s,
                                      max_s=self.settings.webhook_retry_max_s, rng=self.rng)
                failure = fail(session, claim, status_code=result.status_code,
                               error=result.error or "failed", now=now,
                               retry_at=now + timedelta(seconds=delay))
                outcome = "lost" if failure is None else (
                    "gave_up" if failure.gave_up else "retry")
        metrics.ATTEMPTS.labels(outcome).inc()
        if failure is not None and failure.endpoint_disabled:
            metrics.ENDPOINTS_DISABLED.inc()
            log.warning("webhook_endpoint_disabled", error=result.error)
        log.info("webhook_attempt", outcome=outcome, status_code=result.status_code,
                 error=result.error,
                 next_attempt_at=failure.next_attempt_at.isoformat()
                 if failure and failure.next_attempt_at else None)

    # -- the loop ---------------------------------------------------------------------

    def run(self, *, once: bool = False) -> int:
        """Deliver until shut down (``once``: one step, then wait for its attempts)."""
        log.info("notifier_started", notifier_id=self.settings.notifier_id,
                 concurrency=self.settings.webhook_concurrency)
        poll = self.settings.webhook_poll_interval_s
        while not self.stopping.is_set():
            try:
                started = self.step()
            except Exception:
                log.exception("notifier_step_failed")
                self.stopping.wait(_ERROR_PAUSE_S)
                continue
            if once:
                break
            if started:
                continue  # a backlog: claim again at once while slots are free
            if self._in_flight:
                wait(self._in_flight, timeout=poll, return_when=FIRST_COMPLETED)
            else:
                self.stopping.wait(poll)
        drained = self.drain(None if once else self.settings.notifier_drain_timeout_s)
        self._pool.shutdown(wait=drained, cancel_futures=True)
        log.info("notifier_stopped", drained=drained)
        return 0

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, _: FrameType | None) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("notifier_draining", signal=signal.Signals(signum).name)
            self.stopping.set()
            return
        # Attempts in flight are abandoned; their leases run out and they come back.
        log.warning("notifier_exit_now", in_flight=len(self._in_flight))
        os._exit(1)
