"""Chores an idle worker runs now and then: the dead-letter sweep, token reconciliation.

Each runs at most once per ``interval_s`` per worker, between polls, so a busy fleet does
none and an idle one does them without a scheduler of its own. A chore that fails is
logged and tried again next time: housekeeping never stops a worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from common.logging import get_logger

log = get_logger(__name__)

Chore = Callable[[], int]


class Housekeeping:
    def __init__(self, chores: dict[str, Chore], *, interval_s: float) -> None:
        self.chores = chores
        self.interval_s = interval_s
        self._last: float | None = None

    def maybe_run(self) -> dict[str, int]:
        """Run every chore if the interval is over; what each did (0 when not run)."""
        now = time.monotonic()
        if self.interval_s <= 0 or (self._last is not None and now - self._last < self.interval_s):
            return {}
        self._last = now
        done: dict[str, int] = {}
        for name, chore in self.chores.items():
            try:
                done[name] = chore()
            except Exception as exc:
                log.warning("housekeeping_failed", chore=name, error=str(exc))
        return done
