"""HLS playback grants: a short-lived HMAC token that lets a stock HLS player fetch a
video's playlists without an Authorization header.

Whoever may watch a video gets a master playlist whose variant URIs carry a grant; the
variant playlists then name presigned S3 URLs. Nothing in the bucket is public and no
player needs to know about our tokens.

A grant is ``{expires}.{epoch}.{signature}`` over the video id, the video's grant epoch and
the expiry. The epoch lives on the video row (``gallery_videos.grant_epoch``) and goes up
when the video's visibility changes, so from that moment every grant issued before is
refused; deleting the video removes the row, which refuses them too. What a grant already
let a player fetch cannot be called back: the presigned media URLs in a playlist served
earlier stay valid until they expire (``VF_HLS_URL_EXPIRY_S``), which is why that expiry is
kept short.

The key must be the same in every process that serves streaming (``VF_STREAM_SIGNING_KEY``):
with a random key per process, a grant from one process is refused by the next.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

_SIGNATURE_BYTES = 16  # 128-bit truncated HMAC-SHA256
_MAX_DIGITS = 11


@dataclass(frozen=True)
class Grant:
    expires: int
    epoch: int
    signature: str

    @classmethod
    def parse(cls, text: str | None) -> Grant | None:
        parts = (text or "").split(".")
        if len(parts) != 3 or not all(_number(p) for p in parts[:2]):
            return None
        return cls(int(parts[0]), int(parts[1]), parts[2])

    def __str__(self) -> str:
        return f"{self.expires}.{self.epoch}.{self.signature}"


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS


class GrantSigner:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or os.urandom(32)

    def _signature(self, video_id: str, epoch: int, expires: int) -> str:
        mac = hmac.new(self._key, f"{video_id}:{epoch}:{expires}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:_SIGNATURE_BYTES]).decode().rstrip("=")

    def issue(self, video_id: str, *, epoch: int, ttl_s: int) -> str:
        expires = int(time.time()) + ttl_s
        return str(Grant(expires, epoch, self._signature(video_id, epoch, expires)))

    def expiry_time(self, grant: str) -> datetime:
        parsed = Grant.parse(grant)
        return datetime.fromtimestamp(parsed.expires if parsed else 0, tz=UTC)

    def allows(self, video_id: str, epoch: int, grant: str | None) -> bool:
        """True if ``grant`` was issued for ``video_id`` at its current ``epoch`` and has
        not expired."""
        parsed = Grant.parse(grant)
        if parsed is None or parsed.epoch != epoch or parsed.expires < time.time():
            return False
        expected = self._signature(video_id, epoch, parsed.expires)
        return hmac.compare_digest(expected.encode(), parsed.signature.encode())
