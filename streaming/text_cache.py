"""Stored texts (playlists, storyboard cues) kept in memory, so a request for one reads S3
once per process.

Published objects never change: keys are per job, and a job publishes once. The cache is
an LRU bounded by the characters it holds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from streaming.playback import PlaybackAsset

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

# 2-hour variants are ~60 kB: this holds several hundred long videos' playlists per process.
DEFAULT_MAX_CHARS = 32 * 1024 * 1024


class TextCache:
    def __init__(self, s3: S3Client, *, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.s3 = s3
        self._texts: OrderedDict[tuple[str, str, int], str] = OrderedDict()
        self._chars = 0
        self._max = max_chars
        self._lock = threading.Lock()
        self.misses = 0

    def text(self, asset: PlaybackAsset) -> str:
        """The UTF-8 text stored for ``asset``."""
        key = (asset.bucket, asset.key, asset.size_bytes)
        with self._lock:
            found = self._texts.get(key)
            if found is not None:
                self._texts.move_to_end(key)
                return found
        body = self.s3.get_object(Bucket=asset.bucket, Key=asset.key)["Body"]
        with body:
            text = str(body.read().decode("utf-8"))
        with self._lock:
            self.misses += 1
            if key not in self._texts:
                self._texts[key] = text
                self._chars += len(text)
            while self._chars > self._max and len(self._texts) > 1:
                _, evicted = self._texts.popitem(last=False)
                self._chars -= len(evicted)
        return text
