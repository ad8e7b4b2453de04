"""Watching for the end of this instance, busy or idle: a spot interruption, or Auto
Scaling terminating it.

A background thread reads the instance metadata every ``interval_s`` (AWS recommends
checking for spot interruption notices every 5 seconds) and reports the first notice
once. What it means for the job in hand is :meth:`TerminationNotice.release_within_s`:

- spot: the instance goes at the notice's time, two minutes on, whatever anyone does. The
  job may run until ``release_margin_s`` before that, then it is released (back to QUEUED,
  its message visible at once), so another worker takes it over while this one still has
  time to say so.
- Auto Scaling with a termination lifecycle hook: the instance waits in
  ``Terminating:Wait`` while the worker heart-beats the hook, so the job gets the usual
  drain time to finish, then is released; then the hook is completed with CONTINUE.
- Auto Scaling without a hook: nothing holds the instance, so the job is released at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from common.logging import get_logger
from processor.instance_metadata import InstanceMetadata

log = get_logger(__name__)

# EC2 User Guide, "Spot Instance interruption notices": "we recommend that you check for
# these interruption notices every 5 seconds".
DEFAULT_INTERVAL_S = 5.0


@dataclass(frozen=True)
class TerminationNotice:
    source: str                 # "spot" or "autoscaling"
    detail: str                 # the spot action or the target lifecycle state
    deadline: datetime | None   # when the instance goes; None: it waits for us (a hook)

    def release_within_s(self, *, now: datetime, drain_timeout_s: float,
                         release_margin_s: float, hook: bool) -> float:
        """How long the job in hand may still run before it is released."""
        if self.deadline is not None:
            left = (self.deadline - now).total_seconds() - release_margin_s
            return max(0.0, min(drain_timeout_s, left))
        return drain_timeout_s if hook else 0.0


def check(metadata: InstanceMetadata) -> TerminationNotice | None:
    """One look at the instance metadata: the notice if this instance is going."""
    spot = metadata.spot_interruption()
    if spot is not None:
        return TerminationNotice("spot", spot.action, spot.time)
    if metadata.leaving_auto_scaling_group():
        return TerminationNotice("autoscaling", metadata.target_lifecycle_state() or "",
                                 None)
    return None


class TerminationWatch:
    """Calls ``on_notice`` (from its own thread) the first time :func:`check` finds a
    notice; a later, earlier-deadline notice (spot after a hooked termination) is
    reported too, since it shortens the time the job has."""

    def __init__(self, metadata: InstanceMetadata, *,
                 interval_s: float = DEFAULT_INTERVAL_S,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.metadata = metadata
        self.interval_s = interval_s
        self.clock = clock
        self.notice: TerminationNotice | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self, on_notice: Callable[[TerminationNotice], None]) -> TerminationNotice | None:
        """Check once; report a notice that is new or brings the deadline closer."""
        found = check(self.metadata)
        if found is None or not _sooner(found, self.notice):
            return None
        self.notice = found
        log.warning("termination_notice", source=found.source, detail=found.detail,
                    deadline=found.deadline.isoformat() if found.deadline else None)
        on_notice(found)
        return found

    def start(self, on_notice: Callable[[TerminationNotice], None]) -> None:
        """Check at once (a worker restarted on a terminating instance takes no job),
        then every interval in the background until :meth:`stop`."""
        self._stop.clear()
        self.poll(on_notice)

        def watch() -> None:
            while not self._stop.wait(self.interval_s):
                try:
                    self.poll(on_notice)
                except Exception:  # a bug here must not end the watch
                    log.exception("termination_watch_failed")

        self._thread = threading.Thread(target=watch, name="termination-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def _sooner(found: TerminationNotice, known: TerminationNotice | None) -> bool:
    if known is None:
        return True
    if found.deadline is None:
        return False
    return known.deadline is None or found.deadline < known.deadline
