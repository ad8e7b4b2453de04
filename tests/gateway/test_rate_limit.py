"""Token buckets per user and per client IP, by route class, in Redis and in-process."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.rate_limit import (
    Bucket,
    Decision,
    InMemoryLimiter,
    Limit,
    RedisLimiter,
    route_class,
)
from gateway.settings import GatewaySettings
from tests.support.services import REDIS_URL
from videoforge.stack.net import free_port


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _acquire(limiter: RedisLimiter | InMemoryLimiter, buckets: list[Bucket]) -> Decision:
    """One request's spend, as the gateway's middleware makes it (on an event loop)."""
    return asyncio.run(limiter.acquire_async(buckets))


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"vf-test-{uuid.uuid4().hex[:8]}:"
    yield prefix
    r = redis.Redis.from_url(REDIS_URL)
    for key in r.scan_iter(f"{prefix}*"):
        r.delete(key)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_bucket_allows_a_burst_then_says_when(backend, redis_prefix) -> None:
    limiter = (InMemoryLimiter() if backend == "memory"
               else RedisLimiter.from_url(REDIS_URL))
    bucket = Bucket(redis_prefix + "k", Limit(capacity=3, refill_per_s=0.5))
    assert all(_acquire(limiter, [bucket]).allowed for _ in range(3))
    denied = _acquire(limiter, [bucket])
    assert not denied.allowed and 1.5 < denied.retry_after_s <= 2.0
    assert denied.retry_after_header == "2"
    # Denied when any bucket is empty, and then nothing is spent from the others.
    roomy = Bucket(redis_prefix + "roomy", Limit(capacity=1, refill_per_s=0.01))
    assert not _acquire(limiter, [roomy, bucket]).allowed
    assert _acquire(limiter, [roomy]).allowed


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_concurrent_requests_never_overspend(backend, redis_prefix) -> None:
    limiter = (InMemoryLimiter() if backend == "memory"
               else RedisLimiter.from_url(REDIS_URL))
    bucket = Bucket(redis_prefix + "shared", Limit(capacity=10, refill_per_s=0.001))
    with ThreadPoolExecutor(max_workers=8) as pool:
        decisions = list(pool.map(lambda _: _acquire(limiter, [bucket]), range(40)))
    assert sum(d.allowed for d in decisions) == 10


def test_redis_bucket_refills_after_retry_after(redis_prefix) -> None:
    limiter = RedisLimiter.from_url(REDIS_URL)
    bucket = Bucket(redis_prefix + "fast", Limit(capacity=1, refill_per_s=20.0))
    assert _acquire(limiter, [bucket]).allowed
    denied = _acquire(limiter, [bucket])
    assert not denied.allowed and 0 < denied.retry_after_s <= 0.05
    time.sleep(denied.retry_after_s + 0.01)  # the time the client is told to wait
    assert _acquire(limiter, [bucket]).allowed


def test_in_memory_bucket_refills_with_time() -> None:
    clock = FakeClock()
    limiter = InMemoryLimiter(clock=clock)
    bucket = Bucket("k", Limit(capacity=2, refill_per_s=1.0))
    assert limiter.acquire([bucket]).allowed and limiter.acquire([bucket]).allowed
    assert not limiter.acquire([bucket]).allowed
    clock.now += 1.0
    assert limiter.acquire([bucket]).allowed
    clock.now += 100.0  # never more than the capacity
    assert [limiter.acquire([bucket]).allowed for _ in range(3)] == [True, True, False]


def test_unreachable_redis_lets_requests_through() -> None:
    limiter = RedisLimiter.from_url(f"redis://127.0.0.1:{free_port()}/0")
    assert asyncio.run(limiter.acquire_async([Bucket("k", Limit(1, 1.0))])).allowed


def test_async_redis_shares_the_buckets_and_never_overspends(redis_prefix) -> None:
    """The middleware's path (no thread hop): concurrent calls on one loop spend from the
    same buckets as the sync path, exactly once each, also when Redis lacks the script."""
    limiter = RedisLimiter.from_url(REDIS_URL)
    limiter._sha = "0" * 40  # as if Redis had never seen it: EVAL
    bucket = Bucket(redis_prefix + "async", Limit(capacity=10, refill_per_s=0.001))

    async def burst() -> list[bool]:
        decisions = await asyncio.gather(*(limiter.acquire_async([bucket]) for _ in range(30)))
        return [d.allowed for d in decisions]

    assert _acquire(limiter, [bucket]).allowed
    assert sum(asyncio.run(burst())) == 9
    assert not _acquire(limiter, [bucket]).allowed


def test_redis_without_the_script_loads_it_and_counts(redis_prefix) -> None:
    """EVALSHA of a script Redis has not seen (a new or flushed Redis) falls back to EVAL,
    and the bucket is counted all the same."""
    limiter = RedisLimiter.from_url(REDIS_URL)
    limiter._sha = "0" * 40  # as if Redis had never seen it
    bucket = Bucket(f"{redis_prefix}noscript", Limit(capacity=1, refill_per_s=0.001))
    assert _acquire(limiter, [bucket]).allowed
    assert not _acquire(limiter, [bucket]).allowed


def test_route_classes_and_default_limits() -> None:
    assert route_class("GET", "/api/jobs/1") == "read"
    assert route_class("POST", "/api/jobs") == "submit"
    assert route_class("DELETE", "/api/jobs/1") == "write"
    assert route_class("POST", "/api/upload/url") == "upload"
    assert route_class("POST", "/api/auth/login") == "auth"
    assert route_class("GET", "/metrics") is None
    assert route_class("OPTIONS", "/api/jobs") == "preflight"
    assert route_class("OPTIONS", "/") is None
    defaults = GatewaySettings()
    read = defaults.limit("read")
    for tight in ("upload", "submit"):
        assert defaults.limit(tight).capacity < read.capacity
        assert defaults.limit(tight).refill_per_s < read.refill_per_s
    with pytest.raises(ValueError):
        GatewaySettings(rate_limit_read="lots")


def limited_client(settings: GatewaySettings, **limits: str) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={
        "trusted_proxies": 1, **{f"rate_limit_{k}": v for k, v in limits.items()}})))


def from_ip(ip: str, user=None) -> dict[str, str]:
    return {"X-Forwarded-For": ip, **(user.headers if user else {})}


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_reads_burst_then_429_with_retry_after(gateway_settings, users, backend,
                                               redis_prefix) -> None:
    settings = gateway_settings.model_copy(update={
        "redis_url": REDIS_URL if backend == "redis" else None,
        "rate_limit_prefix": redis_prefix})
    owner = users["owner"]
    with limited_client(settings, read="3/60") as client:
        codes = [client.get("/api/jobs", headers=from_ip("10.0.0.1", owner)).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = client.get("/api/jobs", headers=from_ip("10.0.0.1", owner))
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
        # Not limited: health and metrics.
        assert client.get("/healthz").status_code == 200


def test_per_user_and_per_ip(gateway_settings, users, redis_prefix) -> None:
    settings = gateway_settings.model_copy(update={"redis_url": REDIS_URL,
                                                   "rate_limit_prefix": redis_prefix})
    owner, other = users["owner"], users["other"]
    with limited_client(settings, read="2/60") as client:
        # One user from two addresses: their own bucket runs dry.
        assert client.get("/api/jobs", headers=from_ip("10.1.0.1", owner)).status_code == 200
        assert client.get("/api/jobs", headers=from_ip("10.1.0.2", owner)).status_code == 200
        assert client.get("/api/jobs", headers=from_ip("10.1.0.3", owner)).status_code == 429
        # Another user from a fresh address is unaffected.
        assert client.get("/api/jobs", headers=from_ip("10.1.0.4", other)).status_code == 200
        # One address for many (anonymous or not): its bucket runs dry.
        assert client.get("/api/jobs", headers=from_ip("10.1.0.4")).status_code == 401
        assert client.get("/api/jobs", headers=from_ip("10.1.0.4")).status_code == 429


def test_submissions_are_tighter_than_reads(gateway_settings, users, make_video) -> None:
    owner = users["owner"]
    with limited_client(gateway_settings, read="10/60", submit="2/60") as client:
        videos = [make_video(owner) for _ in range(3)]
        codes = [client.post("/api/jobs", json={"video_id": v.id},
                             headers=from_ip("10.2.0.1", owner)).status_code for v in videos]
        assert codes == [201, 201, 429]
        # Reads still have room.
        assert client.get("/api/jobs", headers=from_ip("10.2.0.1", owner)).status_code == 200


def test_replicas_share_redis_buckets(gateway_settings, users, redis_prefix) -> None:
    settings = gateway_settings.model_copy(update={"redis_url": REDIS_URL,
                                                   "rate_limit_prefix": redis_prefix})
    owner = users["owner"]
    with limited_client(settings, read="2/60") as a, limited_client(settings, read="2/60") as b:
        assert a.get("/api/jobs", headers=from_ip("10.3.0.1", owner)).status_code == 200
        assert b.get("/api/jobs", headers=from_ip("10.3.0.1", owner)).status_code == 200
        assert a.get("/api/jobs", headers=from_ip("10.3.0.1", owner)).status_code == 429


def test_login_attempts_are_limited_per_ip(gateway_settings) -> None:
    with limited_client(gateway_settings, auth="2/60") as client:
        body = {"username": "owner", "password": "Wrong-pass-9!"}
        codes = [client.post("/api/auth/login", json=body,
                             headers=from_ip("10.4.0.1")).status_code for _ in range(3)]
        assert codes == [401, 401, 429]


def test_fewer_hops_than_trusted_proxies_never_trust_the_caller(gateway_settings) -> None:
    """With two trusted proxies, a one-entry X-Forwarded-For came past at most one of
    them: its entry may be the caller's own, so the peer address is what counts."""
    settings = gateway_settings.model_copy(update={"trusted_proxies": 2,
                                                   "rate_limit_read": "2/60"})
    with TestClient(create_app(settings)) as client:
        codes = [client.get("/api/gallery/videos", headers={"X-Forwarded-For": f"10.9.0.{i}"}
                            ).status_code for i in range(3)]
    assert codes[-1] == 429, codes


def _throttled_client(gateway_settings, clock) -> TestClient:
    """The gateway with its sign-in throttle on ``clock`` (time passes without sleeping)."""
    from gateway.sign_in_throttle import MemoryFailureStore, SignInThrottle

    app = create_app(gateway_settings.model_copy(update={"trusted_proxies": 1,
                                                         "rate_limit_auth": "100000/1"}))
    app.state.service.sign_ins = SignInThrottle(MemoryFailureStore(lambda: clock.now),
                                                clock=lambda: clock.now)
    return TestClient(app)


def _login(client, ip: str, password: str = "Wrong-pass-9!", user: str = "owner"):
    return client.post("/api/auth/login", json={"username": user, "password": password},
                       headers=from_ip(ip))


def test_failed_sign_ins_slow_that_address_down_with_growing_delays(gateway_settings) -> None:
    from tests.support.cognito import PASSWORD

    clock = FakeClock()
    with _throttled_client(gateway_settings, clock) as client:
        assert [_login(client, "10.5.0.1").status_code for _ in range(3)] == [401] * 3
        waits = []
        for _ in range(3):
            delayed = _login(client, "10.5.0.1")
            assert delayed.status_code == 429
            assert delayed.json()["error"]["code"] == "sign_in_delayed"
            waits.append(int(delayed.headers["Retry-After"]))
            clock.now += waits[-1]
            assert _login(client, "10.5.0.1").status_code == 401  # one more try, then wait
        assert waits == [1, 2, 4]
        # Another address is not slowed by this one's failures...
        assert _login(client, "10.5.0.2").status_code == 401
        # ...and the right password, once the wait is over, clears this address.
        clock.now += 8
        assert _login(client, "10.5.0.1", PASSWORD).status_code == 200
        assert _login(client, "10.5.0.1").status_code == 401


def test_one_try_per_address_cannot_guess_forever_nor_lock_the_user_out(
        gateway_settings) -> None:
    from tests.support.cognito import PASSWORD

    clock = FakeClock()
    with _throttled_client(gateway_settings, clock) as client:
        assert _login(client, "10.6.0.1", PASSWORD).status_code == 200  # the user's own
        botnet = [_login(client, f"10.7.0.{i}").status_code for i in range(12)]
        assert botnet[:10] == [401] * 10 and botnet[10:] == [429, 429]
        slowed = _login(client, "10.7.1.1")
        assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) <= 60
        # The user signs in from their usual address at once: nobody locks them out.
        assert _login(client, "10.6.0.1", PASSWORD).status_code == 200
        # A new address waits at most a minute, then gets its try.
        clock.now += 60
        assert _login(client, "10.7.1.1", PASSWORD).status_code == 200
