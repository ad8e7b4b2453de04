"""HLS playback grants: a short-lived HMAC token that lets a stock HLS player fetch a
video's playlists without an Authorization header.

Whoever may watch a video gets a master playlist whose variant URIs carry a grant; the
variant playlists then list presigned S3 URLs. Nothing in the bucket is public and no
player needs to know about our tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from datetime import UTC, datetime

_SIGNATURE_BYTES = 16  # 128-bit truncated HMAC-SHA256


class GrantSigner:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or os.urandom(32)

    def _signature(self, video_id: str, expires: int) -> str:
        mac = hmac.new(self._key, f"{video_id}:{expires}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:_SIGNATURE_BYTES]).decode().rstrip("=")

    def issue(self, video_id: str, *, ttl_s: int) -> str:
        expires = int(time.time()) + ttl_s
        return f"{expires}.{self._signature(video_id, expires)}"

    def expires_at(self, grant: str) -> int | None:
        head, _, _ = grant.partition(".")
        return int(head) if head.isascii() and head.isdigit() and len(head) < 12 else None

    def expiry_time(self, grant: str) -> datetime:
        return datetime.fromtimestamp(self.expires_at(grant) or 0, tz=UTC)

    def allows(self, video_id: str, grant: str | None) -> bool:
        """True if ``grant`` was issued for ``video_id`` and has not expired."""
        if not grant:
            return False
        expires = self.expires_at(grant)
        if expires is None or expires < time.time():
            return False
        expected = f"{expires}.{self._signature(video_id, expires)}"
        return hmac.compare_digest(expected.encode(), grant.encode())
