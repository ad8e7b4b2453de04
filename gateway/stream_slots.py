"""How many job event streams may be open: per user and per gateway process.

Each open stream reads the database every poll interval, so their number is what the
database pays for. A user past their share gets 429 (the page then polls the job
instead); a process past its total gets 503 (another replica, or later, will do).
"""

from __future__ import annotations

import threading
from collections import Counter

from common.http import ApiError

RETRY_AFTER_S = 5


class StreamSlots:
    def __init__(self, *, per_user: int, per_process: int) -> None:
        self.per_user = per_user
        self.per_process = per_process
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._open.values())

    def take(self, user_id: str) -> Slot:
        with self._lock:
            if sum(self._open.values()) >= self.per_process:
                raise ApiError(503, "too many event streams are open on this server; retry "
                                    "shortly or poll the job", code="streams_at_capacity",
                               headers={"Retry-After": str(RETRY_AFTER_S)})
            if self._open[user_id] >= self.per_user:
                raise ApiError(429, f"at most {self.per_user} event streams may be open at "
                                    "once; close one or poll the job",
                               code="too_many_streams",
                               headers={"Retry-After": str(RETRY_AFTER_S)})
            self._open[user_id] += 1
        return Slot(self, user_id)

    def _give_back(self, user_id: str) -> None:
        with self._lock:
            self._open[user_id] -= 1
            if self._open[user_id] <= 0:
                del self._open[user_id]


class Slot:
    """One open stream's place; given back once, however the stream ends."""

    def __init__(self, slots: StreamSlots, user_id: str) -> None:
        self._slots = slots
        self._user_id = user_id
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots._give_back(self._user_id)

    def __del__(self) -> None:
        # A response dropped before its body was ever iterated still gives the place back.
        self.release()
