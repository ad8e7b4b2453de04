"""View counting that replays cannot inflate: one count per (viewer, video) per window.

The viewer is the signed-in user, else the client address. Whether a viewer was already
counted lives in Redis (``SET NX EX``: atomic, shared by every instance, expires by
itself) when ``VF_REDIS_URL`` is set, else in a bounded in-process map.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session

from common.models import GalleryVideo

# The in-process map forgets its oldest entries beyond this, bounding memory.
MEMORY_MAX_ENTRIES = 100_000


class ViewDeduper(Protocol):
    def first_in_window(self, video_id: str, viewer: str, window_s: int) -> bool:
        """True exactly once per (video, viewer) per window."""


def _digest(video_id: str, viewer: str) -> str:
    # Hashed, so neither addresses nor user ids sit in the store in clear.
    return hashlib.sha256(f"{video_id}\x00{viewer}".encode()).hexdigest()[:32]


class RedisViewDeduper:
    def __init__(self, redis: Any, *, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str) -> RedisViewDeduper:
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=2), prefix=prefix)

    def first_in_window(self, video_id: str, viewer: str, window_s: int) -> bool:
        key = self.prefix + _digest(video_id, viewer)
        return bool(self.redis.set(key, b"1", nx=True, ex=window_s))


class MemoryViewDeduper:
    def __init__(self, *, max_entries: int = MEMORY_MAX_ENTRIES,
                 clock: Any = time.monotonic) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._clock = clock

    def first_in_window(self, video_id: str, viewer: str, window_s: int) -> bool:
        key, now = _digest(video_id, viewer), self._clock()
        with self._lock:
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            self._seen[key] = now + window_s
            self._seen.move_to_end(key)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
            return True


def record_view(session: Session, deduper: ViewDeduper, *, video: GalleryVideo, viewer: str,
                window_s: int) -> bool:
    """Count a view unless this viewer was counted within the window; True if counted."""
    if not deduper.first_in_window(video.id, viewer, window_s):
        return False
    # Incremented in SQL so concurrent views never lose an update.
    session.execute(update(GalleryVideo).where(GalleryVideo.id == video.id)
                    .values(view_count=GalleryVideo.view_count + 1))
    session.commit()
    session.refresh(video)
    return True
