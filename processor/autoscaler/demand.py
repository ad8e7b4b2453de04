"""How fast work arrives, estimated from successive controller observations.

Between two observations the queued + running work grows by what arrived and shrinks by
what the busy workers did (one second of work per second each), so

    arrived = (queued + running)_now - (queued + running)_before + in_flight x elapsed

The mean over a window, in work-seconds per second, is the number of instances the
fleet needs just to keep up: the work policy does not shrink below it, so a steady
stream does not make it release instances between arrivals and launch them again.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # policy imports this module
    from processor.autoscaler.policy import Signals


class ArrivalRate:
    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._previous: Signals | None = None
        self._arrived: deque[tuple[float, float]] = deque()  # (now, work-seconds)

    def update(self, signals: Signals) -> float:
        """Record an observation; return work-seconds arriving per second."""
        before = self._previous
        if before is not None and signals.now > before.now:
            elapsed = signals.now - before.now
            done = (before.in_flight + signals.in_flight) / 2 * elapsed
            growth = _work(signals) - _work(before)
            self._arrived.append((signals.now, growth + done))
        self._previous = signals
        while self._arrived and self._arrived[0][0] <= signals.now - self.window_s:
            self._arrived.popleft()
        if self.window_s <= 0:
            return 0.0
        # Over the whole window even when younger: a cold start underestimates, which
        # is the safe side (the backlog still asks for what the queue needs).
        return max(0.0, sum(work for _, work in self._arrived)) / self.window_s


def _work(signals: Signals) -> float:
    return signals.queued_work_s + signals.running_work_s
