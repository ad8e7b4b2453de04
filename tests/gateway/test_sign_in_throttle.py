"""The sign-in throttle's arithmetic, on both stores (in-process and real Redis)."""

from __future__ import annotations

import uuid

import pytest
import redis

from gateway.middleware import normalize_path
from gateway.sign_in_throttle import (
    ACCOUNT,
    PAIR,
    MemoryFailureStore,
    RedisFailureStore,
    SignInThrottle,
)
from tests.support.services import REDIS_URL


@pytest.fixture(params=["memory", "redis"])
def throttle(request):
    now = [1_000_000.0]
    if request.param == "memory":
        store = MemoryFailureStore(lambda: now[0])
    else:
        store = RedisFailureStore(redis.Redis.from_url(REDIS_URL),
                                  prefix=f"vf-test-{uuid.uuid4().hex[:8]}:")
    return SignInThrottle(store, clock=lambda: now[0]), now


def test_delays_double_up_to_their_caps() -> None:
    assert [PAIR.delay_s(n) for n in range(3, 8)] == [1, 2, 4, 8, 16]
    assert PAIR.delay_s(40) == 900 and ACCOUNT.delay_s(40) == 60
    assert PAIR.delay_s(2) == ACCOUNT.delay_s(9) == 0


def test_pair_and_account_counters(throttle) -> None:
    t, now = throttle
    for _ in range(3):
        assert t.wait_s("Alice", "10.0.0.1") == 0
        t.failed("Alice", "10.0.0.1")
    assert t.wait_s("alice ", "10.0.0.1") == 1  # one account, however it is typed
    assert t.wait_s("alice", "10.0.0.2") == 0
    now[0] += 1
    assert t.wait_s("alice", "10.0.0.1") == 0
    t.succeeded("alice", "10.0.0.1")
    for i in range(10):
        t.failed("alice", f"10.1.0.{i}")
    assert 0 < t.wait_s("alice", "10.2.0.1") <= 60
    assert t.wait_s("alice", "10.0.0.1") == 0  # signed in from there before
    assert t.wait_s("bob", "10.2.0.1") == 0


def test_paths_are_normalised_before_anything_reads_them() -> None:
    assert normalize_path("/api/jobs") == "/api/jobs"
    assert normalize_path("//api//auth/login") == "/api/auth/login"
    assert normalize_path("/api/gallery/../upload/./url") == "/api/upload/url"
    assert normalize_path("/api/jobs/") == "/api/jobs/"
    assert normalize_path("/../../etc") == "/etc"
    assert normalize_path("/") == "/" and normalize_path("") == "/"
