"""Stored playlist texts kept in memory, so a playlist request reads S3 once per process.

Published objects never change: keys are per job, and a job publishes once. The cache is
an LRU bounded by the characters it holds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from common.models import MediaAsset
from streaming.hls import VariantTemplate, read_playlist

# 2-hour variants are ~60 kB: this holds several hundred long videos' playlists per process.
DEFAULT_MAX_CHARS = 32 * 1024 * 1024


class PlaylistCache:
    def __init__(self, s3: Any, *, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.s3 = s3
        self._entries: OrderedDict[tuple[str, str, int], VariantTemplate] = OrderedDict()
        self._chars = 0
        self._max = max_chars
        self._lock = threading.Lock()
        self.misses = 0

    def get(self, asset: MediaAsset) -> VariantTemplate:
        """The playlist stored for ``asset``, parsed (a master is a template without media)."""
        key = (asset.bucket, asset.key, asset.size_bytes)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        template = VariantTemplate.parse(read_playlist(self.s3, asset), playlist_key=asset.key)
        with self._lock:
            self.misses += 1
            if key not in self._entries:
                self._entries[key] = template
                self._chars += template.size
            while self._chars > self._max and len(self._entries) > 1:
                _, evicted = self._entries.popitem(last=False)
                self._chars -= evicted.size
        return template
