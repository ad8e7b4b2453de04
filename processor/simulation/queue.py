"""The simulated scheduler: which queued unit an idle worker takes next.

The order is DESIGN.md's ("Scheduling") as common/scheduler.py implements it, with every
upload its own user and one priority: the jobs with no running unit first (an owner's
running job is one share, however many of its tasks run); among equals, the one served
longest ago (never, first), then the oldest. A job is served when its first unit starts:
a chunked job's later tasks carry on that share and do not serve it again, so among
started chunked jobs the one started first takes the free workers, and a started job
keeps going before jobs that started after it. The first rule is what lets a short
upload behind a long one's chunks start as soon as the next worker frees up. Unchunked,
every job is one unit, never served while it waits: first come, first served.

``fair_share=False`` is the what-if without shares: the oldest job first, its tasks in
order, so a started chunked job keeps its place ahead of later arrivals. That is what the
real scheduler does among one owner's jobs (its rule 3), i.e. every upload from one
user; it is not DESIGN.md's order across users.

``hold_s`` is a second what-if, between the two: a started chunked job's tasks (the one
started first, first) go before any job not yet started, until that job has waited
``hold_s``; then the fair order serves it, at the next worker that frees up (while
chunks run, within one chunk's run). So a hold under the autoscaler's latency target less
one chunk keeps the uploads that wait behind chunks within that target. It is not
DESIGN.md's order either (its rule 2 puts the user with no running share first at once):
common/scheduler.py has it as the chunk hold, off by default (``VF_CHUNK_HOLD_S``).

A heap of (shares, first served, job) entries (jobs are numbered in arrival order),
made stale by any change to a job's running count or service and discarded when they
surface, so each operation is O(log n).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(eq=False)
class Unit:
    """A job (unchunked) or one of its tasks."""

    job: int          # index of the job in the trace
    work_s: float
    stitch: bool = False  # the last task of a chunked job
    split: bool = False  # the first: its chunks are queued when it is done
    task: bool = False  # one of a chunked job's units (its split, audio, chunks, stitch)
    queued_at: float = 0.0  # when it joined the queue (the hold what-if reads it)


class FairQueue:
    def __init__(self, *, fair_share: bool = True, hold_s: float | None = None) -> None:
        self.fair_share = fair_share
        self.hold_s = hold_s
        self._heap: list[tuple[int, int, int]] = []
        self._waiting: dict[int, deque[Unit]] = {}
        self._running: dict[int, int] = {}
        self._served: dict[int, int] = {}  # job -> when its first unit started (a counter)
        self._serving = 0
        self.units = 0
        self.work_s = 0.0

    def __len__(self) -> int:
        return self.units

    def __iter__(self) -> Iterator[Unit]:
        for units in self._waiting.values():
            yield from units

    def _key(self, job: int) -> tuple[int, int, int]:
        if not self.fair_share:
            return 0, 0, job
        return min(self._running.get(job, 0), 1), self._served.get(job, -1), job

    def _offer(self, job: int) -> None:
        heapq.heappush(self._heap, self._key(job))

    def push(self, unit: Unit, *, front: bool = False) -> None:
        waiting = self._waiting.setdefault(unit.job, deque())
        waiting.appendleft(unit) if front else waiting.append(unit)
        self.units += 1
        self.work_s += unit.work_s
        self._offer(unit.job)

    def pop(self, now: float = 0.0) -> Unit | None:
        """The next unit to run (now counted as running), or None if nothing waits."""
        held = self._held(now) if self.hold_s is not None else None
        if held is not None:
            return self._take(held)
        while self._heap:
            entry = heapq.heappop(self._heap)
            job = entry[2]
            if job not in self._waiting or entry != self._key(job):
                continue  # stale: the job's running count or service changed, or it is done
            return self._take(job)
        return None

    def _held(self, now: float) -> int | None:
        """The hold what-if's choice, or None for the fair order. A scan of the waiting
        jobs (tens at most), not a heap: the choice depends on the time."""
        assert self.hold_s is not None
        overdue = [job for job, units in self._waiting.items()
                   if job not in self._served and now - units[0].queued_at >= self.hold_s]
        if overdue:
            return min(overdue, key=self._key)
        started = [job for job in self._waiting if job in self._served]
        return min(started, key=self._served.__getitem__) if started else None

    def _take(self, job: int) -> Unit:
        waiting = self._waiting[job]
        unit = waiting.popleft()
        if not waiting:
            del self._waiting[job]
        self._running[job] = self._running.get(job, 0) + 1
        if job not in self._served:
            self._served[job] = self._serving
            self._serving += 1
        if job in self._waiting:
            self._offer(job)
        self.units -= 1
        self.work_s -= unit.work_s
        return unit

    def done(self, unit: Unit) -> None:
        """A running unit finished or was taken off its worker."""
        left = self._running.get(unit.job, 0) - 1
        if left > 0:
            self._running[unit.job] = left
        else:
            self._running.pop(unit.job, None)
        if unit.job in self._waiting:
            self._offer(unit.job)
        elif left <= 0 and (unit.stitch or not unit.task):
            # Nothing of it will come back (a task's job has more until its stitch).
            self._served.pop(unit.job, None)
