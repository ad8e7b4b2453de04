"""The user pool's signing keys (a JWKS document), fetched when a token names a key id
we have not seen, and never more often than the endpoint can bear.

- After a successful fetch, another fetch for an unknown key id waits a minute: Cognito
  rotates keys rarely, and forged key ids must not turn every request into a fetch.
- A failed fetch (unreachable, a 5xx, a body that is not a key set) keeps the keys we
  have, is not counted as a fetch, and is retried after a backoff that doubles up to a
  minute. Until then a token with an unknown key id cannot be judged: that is
  :class:`KeysUnavailable` (HTTP 503), not a 401 for what may be a good token.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt

from common.errors import Unavailable
from common.logging import get_logger

log = get_logger(__name__)

_TIMEOUT_S = 5
_MIN_REFETCH_INTERVAL_S = 60.0
_FIRST_BACKOFF_S = 1.0
_MAX_BACKOFF_S = 60.0


class KeysUnavailable(Unavailable):
    default_code = "keys_unavailable"


class UnknownKey(Exception):
    """The key set, freshly enough fetched, has no such key id."""


def _parse(body: bytes) -> dict[str, Any]:
    """kid -> public key; ValueError for anything that is not a usable key set."""
    document = json.loads(body)
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a JWKS document")
    try:
        return {entry["kid"]: jwt.PyJWK.from_dict(entry).key for entry in entries}
    except (KeyError, TypeError, jwt.PyJWTError) as exc:
        raise ValueError(f"unusable key in the key set: {type(exc).__name__}") from exc


class KeySet:
    def __init__(self, url: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None  # the last successful fetch
        self._failures = 0
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any:
        if (key := self._keys.get(kid)) is not None:
            return key
        with self._lock:  # one fetch at a time; the others then find the key
            if (key := self._keys.get(kid)) is not None:
                return key
            self._refresh()
            if (key := self._keys.get(kid)) is None:
                raise UnknownKey(kid)
            return key

    def _refresh(self) -> None:
        now = self._clock()
        if self._failures:
            if now < self._retry_at:
                raise KeysUnavailable("the token signing keys cannot be fetched; try again "
                                      "shortly")
        elif self._fetched_at is not None and now - self._fetched_at < _MIN_REFETCH_INTERVAL_S:
            return  # fetched a moment ago: the id is unknown, not the keys stale
        try:
            with urllib.request.urlopen(self.url, timeout=_TIMEOUT_S) as response:
                keys = _parse(response.read())
        except (OSError, ValueError) as exc:  # HTTPError and URLError are OSErrors
            self._failures += 1
            backoff = min(_MAX_BACKOFF_S, _FIRST_BACKOFF_S * 2 ** (self._failures - 1))
            self._retry_at = now + backoff
            log.warning("jwks_fetch_failed", error_type=type(exc).__name__,
                        failures=self._failures, retry_in_s=backoff)
            raise KeysUnavailable("the token signing keys cannot be fetched; try again "
                                  "shortly") from exc
        self._keys, self._fetched_at, self._failures = keys, now, 0
