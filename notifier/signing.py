"""The ``VideoForge-Signature`` header: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

The timestamp is the attempt's, and it is inside the signed text, so a receiver that
rejects stale timestamps also rejects a captured delivery replayed later. During a
secret rotation there is one ``v1`` per secret that still signs (the new one first).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

HEADER = "VideoForge-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={signature(s, timestamp, body)}" for s in secrets)])
