"""Failed sign-ins slow down further guesses at that account: growing delays, never a
lockout, counted per (username, address) and per username, beside the per-IP limit.

- One address guessing one account (``PAIR``): three free tries, then the next waits
  1 s, 2 s, 4 s … up to 15 minutes. A success from that address clears it.
- Everyone guessing one account (``ACCOUNT``: a botnet, one try per address): ten free
  tries, then 1 s doubling up to a minute. The cap is low and it never applies to an
  address that signed in as that user before, so nobody can lock a named user out:
  their usual address is only slowed by its own mistakes, a new one by a minute at most.
- Counters forget an account an hour after its last failure. Usernames and addresses
  are stored hashed. With Redis every gateway replica shares them; an unreachable Redis
  lets sign-ins through (logged), as the rate limiter does.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from common.logging import get_logger

log = get_logger(__name__)

FAILURE_MEMORY_S = 3600
KNOWN_ADDRESS_MEMORY_S = 30 * 24 * 3600


@dataclass(frozen=True)
class Backoff:
    free: int
    base_s: float
    cap_s: float

    def delay_s(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.cap_s, self.base_s * 2.0 ** (failures - self.free))


PAIR = Backoff(free=3, base_s=1.0, cap_s=900.0)
ACCOUNT = Backoff(free=10, base_s=1.0, cap_s=60.0)


class FailureStore(Protocol):
    def failures(self, key: str) -> tuple[int, float]:
        """(failures, time of the last one); (0, 0.0) when none are remembered."""

    def add_failure(self, key: str, now: float) -> None: ...
    def clear(self, key: str) -> None: ...
    def remember(self, key: str) -> None: ...
    def remembered(self, key: str) -> bool: ...


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


class SignInThrottle:
    def __init__(self, store: FailureStore, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    @staticmethod
    def _keys(username: str, ip: str) -> tuple[str, str, str]:
        user = username.strip().casefold()
        return (f"pair:{_digest(user, ip)}", f"account:{_digest(user)}",
                f"known:{_digest(user, ip)}")

    def wait_s(self, username: str, ip: str) -> float:
        """Seconds until this address may try this account again (0: now)."""
        pair, account, known = self._keys(username, ip)
        now = self._clock()
        n, last = self._store.failures(pair)
        waits = [last + PAIR.delay_s(n) - now] if n else []
        if not self._store.remembered(known):
            n, last = self._store.failures(account)
            if n:
                waits.append(last + ACCOUNT.delay_s(n) - now)
        return max([0.0, *waits])

    def failed(self, username: str, ip: str) -> None:
        pair, account, _ = self._keys(username, ip)
        now = self._clock()
        self._store.add_failure(pair, now)
        self._store.add_failure(account, now)

    def succeeded(self, username: str, ip: str) -> None:
        # The account counter stays: a botnet's guesses still slow the botnet.
        pair, _, known = self._keys(username, ip)
        self._store.clear(pair)
        self._store.remember(known)


def retry_after_header(wait_s: float) -> str:
    return str(max(1, math.ceil(wait_s)))


class MemoryFailureStore:
    """One process (tests, the local stack without Redis); bounded, oldest forgotten."""

    _MAX_ENTRIES = 100_000

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._known: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def failures(self, key: str) -> tuple[int, float]:
        with self._lock:
            n, last = self._failures.get(key, (0, 0.0))
            if n and self._clock() - last > FAILURE_MEMORY_S:
                del self._failures[key]
                return 0, 0.0
            return n, last

    def add_failure(self, key: str, now: float) -> None:
        n, _ = self.failures(key)
        with self._lock:
            self._failures[key] = (n + 1, now)
            self._failures.move_to_end(key)
            while len(self._failures) > self._MAX_ENTRIES:
                self._failures.popitem(last=False)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def remember(self, key: str) -> None:
        with self._lock:
            self._known[key] = self._clock() + KNOWN_ADDRESS_MEMORY_S
            self._known.move_to_end(key)
            while len(self._known) > self._MAX_ENTRIES:
                self._known.popitem(last=False)

    def remembered(self, key: str) -> bool:
        with self._lock:
            return self._known.get(key, 0.0) > self._clock()


class RedisFailureStore:
    def __init__(self, redis: Any, *, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str) -> RedisFailureStore:
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5),
                   prefix=prefix)

    def _safely(self, what: str, call: Callable[[], Any], default: Any) -> Any:
        try:
            return call()
        except Exception as exc:  # any Redis failure: sign-in goes on unthrottled
            log.warning("sign_in_throttle_unavailable", op=what, error_type=type(exc).__name__)
            return default

    def failures(self, key: str) -> tuple[int, float]:
        n, last = self._safely("read", lambda: self._redis.hmget(self._prefix + key, "n", "last"),
                               (None, None))
        return (int(n), float(last)) if n is not None and last is not None else (0, 0.0)

    def add_failure(self, key: str, now: float) -> None:
        def write() -> None:
            pipe = self._redis.pipeline()
            pipe.hincrby(self._prefix + key, "n", 1)
            pipe.hset(self._prefix + key, "last", repr(now))
            pipe.expire(self._prefix + key, FAILURE_MEMORY_S)
            pipe.execute()

        self._safely("write", write, None)

    def clear(self, key: str) -> None:
        self._safely("clear", lambda: self._redis.delete(self._prefix + key), None)

    def remember(self, key: str) -> None:
        self._safely("remember", lambda: self._redis.set(
            self._prefix + key, b"1", ex=KNOWN_ADDRESS_MEMORY_S), None)

    def remembered(self, key: str) -> bool:
        return bool(self._safely("read", lambda: self._redis.exists(self._prefix + key), 0))


def make_throttle(redis_url: str | None, *, prefix: str) -> SignInThrottle:
    store: FailureStore = (RedisFailureStore.from_url(redis_url, prefix=prefix) if redis_url
                           else MemoryFailureStore())
    return SignInThrottle(store)
