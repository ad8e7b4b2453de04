"""Rate limiting: token buckets per client IP and per user, by route class.

Every replica shares the buckets in Redis, updated by one Lua script so that checking
and spending is atomic; without Redis an in-process limiter with the same semantics
stands in (one replica, tests). A request spends one token from each of its buckets,
and only when all of them have one; otherwise it gets 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Protocol

from common.logging import get_logger

log = get_logger(__name__)

@dataclass(frozen=True)
class Limit:
    """A token bucket: ``capacity`` requests at once, refilled at ``refill_per_s``."""

    capacity: int
    refill_per_s: float

    @classmethod
    def parse(cls, text: str) -> Limit:
        """``"30/60"``: a burst of 30, refilled at 30 per 60 seconds."""
        count, _, seconds = text.partition("/")
        try:
            capacity, period = int(count), float(seconds or 60)
        except ValueError:
            raise ValueError(f"rate limit {text!r} is not COUNT/SECONDS") from None
        if capacity < 1 or period <= 0:
            raise ValueError(f"rate limit {text!r} needs COUNT >= 1 and SECONDS > 0")
        return cls(capacity, capacity / period)


@dataclass(frozen=True)
class Bucket:
    key: str
    limit: Limit


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float = 0.0

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after_s)))


class Limiter(Protocol):
    async def acquire_async(self, buckets: list[Bucket]) -> Decision:
        """Spend one token from every bucket, or none (the gateway's middleware, on its
        event loop: no thread hop)."""
        ...


def route_class(method: str, path: str) -> str | None:
    """The rate-limit class of a request; None for routes that are not limited.

    OPTIONS (CORS preflights) have a class of their own: counted per IP, so a flood of
    them is bounded, without spending the budget of the requests they precede."""
    if not path.startswith("/api/"):
        return None
    if method == "OPTIONS":
        return "preflight"
    if path.startswith("/api/auth/"):
        return "auth"
    if path.startswith("/api/upload/"):
        return "upload"
    if method in ("GET", "HEAD"):
        return "read"
    if method == "POST" and path.rstrip("/") == "/api/jobs":
        return "submit"
    return "write"


def _refill(tokens: float, elapsed_s: float, limit: Limit) -> float:
    return min(float(limit.capacity), tokens + max(0.0, elapsed_s) * limit.refill_per_s)


class InMemoryLimiter:
    """Buckets in this process: the same arithmetic as the Lua script."""

    # Forget buckets once there are this many and they have refilled (bounded memory).
    _PRUNE_AT = 10_000

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, buckets: list[Bucket]) -> Decision:
        with self._lock:
            now = self._clock()
            levels = []
            for b in buckets:
                tokens, ts = self._buckets.get(b.key, (float(b.limit.capacity), now))
                levels.append(_refill(tokens, now - ts, b.limit))
            wait = max(
                ((1 - t) / b.limit.refill_per_s for t, b in zip(levels, buckets, strict=True)
                 if t < 1),
                default=0.0,
            )
            spend = 1.0 if wait == 0 else 0.0
            for tokens, b in zip(levels, buckets, strict=True):
                self._buckets[b.key] = (tokens - spend, now)
            if len(self._buckets) > self._PRUNE_AT:
                self._prune(now, {b.key: b.limit for b in buckets})
            return Decision(allowed=wait == 0, retry_after_s=wait)

    async def acquire_async(self, buckets: list[Bucket]) -> Decision:
        return self.acquire(buckets)  # no I/O; the lock is held for microseconds

    def _prune(self, now: float, limits: dict[str, Limit]) -> None:
        # A bucket untouched for an hour has refilled under any sane limit.
        stale = [k for k, (_, ts) in self._buckets.items() if now - ts > 3600 and k not in limits]
        for key in stale:
            del self._buckets[key]


# KEYS: bucket keys. ARGV: capacity and refill-per-second for each key, in order.
# Redis's own clock (TIME) is the one clock every gateway replica agrees on.
_TOKEN_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local levels, wait = {}, 0
for i = 1, #KEYS do
  local capacity, rate = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(state[1]) or capacity
  local ts = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
  levels[i] = tokens
  if tokens < 1 then wait = math.max(wait, (1 - tokens) / rate) end
end
local spend = 0
if wait == 0 then spend = 1 end
for i = 1, #KEYS do
  local capacity, rate = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - spend), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(capacity / rate * 1000) + 1000)
end
return {spend, tostring(wait)}
"""


class RedisLimiter:
    """Buckets in Redis, shared by every gateway replica. If Redis is unreachable the
    request is let through (logged): an outage of the limiter must not stop the API.

    Every request pays for this call, so it skips redis-py's command machinery (pool
    checkout with its health probe, retries, the script wrapper): EVALSHA sent and read
    directly, EVAL once when Redis lacks the script. Idle connections are kept per event
    loop, one per request in flight."""

    def __init__(self, async_kwargs: dict[str, Any]) -> None:
        self._async_kwargs = async_kwargs
        self._sha = hashlib.sha1(_TOKEN_BUCKET_LUA.encode()).hexdigest()
        # event loop -> its idle connections (a connection belongs to one loop)
        self._idle: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Any]] = (
            weakref.WeakKeyDictionary())

    @classmethod
    def from_url(cls, url: str) -> RedisLimiter:
        import redis.asyncio

        # Short timeouts: a slow Redis should cost a request milliseconds, not seconds.
        timeouts = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
        return cls(redis.asyncio.ConnectionPool.from_url(url, **timeouts).connection_kwargs)

    async def _run_async(self, keys: list[str], args: list[float]) -> Any:
        from redis.asyncio.connection import Connection
        from redis.exceptions import NoScriptError

        idle = self._idle.setdefault(asyncio.get_running_loop(), [])
        conn = idle.pop() if idle else Connection(**self._async_kwargs)
        try:
            try:
                await conn.send_command("EVALSHA", self._sha, len(keys), *keys, *args)
                result = await conn.read_response()
            except NoScriptError:  # a new or flushed Redis: EVAL also caches the script
                await conn.send_command("EVAL", _TOKEN_BUCKET_LUA, len(keys), *keys, *args)
                result = await conn.read_response()
        except BaseException:
            # Not reused: a cancelled or failed call may leave a reply unread.
            await conn.disconnect()
            raise
        idle.append(conn)
        return result

    @staticmethod
    def _call(buckets: list[Bucket]) -> tuple[list[str], list[float]]:
        args: list[float] = []
        for b in buckets:
            args += [b.limit.capacity, b.limit.refill_per_s]
        return [b.key for b in buckets], args

    @staticmethod
    def _decision(reply: Any) -> Decision:
        spent, wait = reply
        return Decision(allowed=bool(int(spent)), retry_after_s=float(wait))

    async def acquire_async(self, buckets: list[Bucket]) -> Decision:
        try:
            return self._decision(await self._run_async(*self._call(buckets)))
        except Exception as exc:  # any Redis failure: fail open
            log.warning("rate_limit_unavailable", error_type=type(exc).__name__)
            return Decision(allowed=True)


def make_limiter(redis_url: str | None) -> Limiter:
    return RedisLimiter.from_url(redis_url) if redis_url else InMemoryLimiter()
