"""Open event streams are bounded (per user, per process), poll the database within the
process's session budget, and never starve other requests of sessions."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
from sqlalchemy import event as sa_event

from common.db import engine_for
from gateway.app import create_app
from tests.gateway.test_events import submit
from tests.support.servers import serve_in_thread


@contextmanager
def open_stream(http: httpx.Client, url: str, headers: dict) -> Iterator[httpx.Response]:
    """An event stream, held open (its first line read) until the block ends. The line
    iterator is kept: dropping it half-read would close the connection."""
    with http.stream("GET", url, headers=headers) as response:
        lines = response.iter_lines()
        if response.status_code == 200:
            next(lines)
        yield response


def _eventually(check, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def test_streams_are_capped_per_user_and_given_back(gateway_settings, users,
                                                    make_video) -> None:
    settings = gateway_settings.model_copy(update={"sse_max_streams_per_user": 2})
    owner, other = users["owner"], users["other"]
    app = create_app(settings)
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        job_id = submit(http, owner, make_video(owner))
        url = f"/api/jobs/{job_id}/events"
        with open_stream(http, url, owner.headers) as first, \
                open_stream(http, url, owner.headers) as second:
            assert first.status_code == second.status_code == 200
            third = http.get(url, headers=owner.headers)
            assert third.status_code == 429 and third.headers["Retry-After"]
            assert third.json()["error"]["code"] == "too_many_streams"
            # Another user's streams are their own.
            other_job = submit(http, other, make_video(other))
            with open_stream(http, f"/api/jobs/{other_job}/events", other.headers) as theirs:
                assert theirs.status_code == 200
        # Closed by the client: the places come back.
        _eventually(lambda: app.state.service.streams.total == 0)
        with open_stream(http, url, owner.headers) as again:
            assert again.status_code == 200


def test_streams_are_capped_per_process(gateway_settings, users, make_video) -> None:
    settings = gateway_settings.model_copy(update={"sse_max_streams": 2})
    with serve_in_thread(create_app(settings)) as base, \
            httpx.Client(base_url=base, timeout=10) as http, ExitStack() as held:
        for who in ("owner", "other"):
            user = users[who]
            job_id = submit(http, user, make_video(user))
            held.enter_context(open_stream(http, f"/api/jobs/{job_id}/events", user.headers))
        admin = users["admin"]
        job_id = submit(http, admin, make_video(admin))
        r = http.get(f"/api/jobs/{job_id}/events", headers=admin.headers)
        assert r.status_code == 503 and r.json()["error"]["code"] == "streams_at_capacity"


def test_stream_polling_stays_within_the_session_budget(gateway_settings, users,
                                                        make_video) -> None:
    """Many streams polling fast, one session allowed: never two connections at once."""
    settings = gateway_settings.model_copy(update={
        "db_session_budget": 1, "sse_poll_interval_s": 0.005})
    owner = users["owner"]
    engine = engine_for(settings.database_url)
    # Connections out of the pool now; one out before listening is not counted back in.
    lock, checked_out, most = threading.Lock(), set(), [0]

    def out(dbapi_connection: object, *_: object) -> None:
        with lock:
            checked_out.add(id(dbapi_connection))
            most[0] = max(most[0], len(checked_out))

    def back(dbapi_connection: object, *_: object) -> None:
        with lock:
            checked_out.discard(id(dbapi_connection))

    with serve_in_thread(create_app(settings)) as base, \
            httpx.Client(base_url=base, timeout=10) as http, ExitStack() as held:
        job_id = submit(http, owner, make_video(owner))
        sa_event.listen(engine.pool, "checkout", out)
        sa_event.listen(engine.pool, "checkin", back)
        try:
            for _ in range(8):
                held.enter_context(open_stream(http, f"/api/jobs/{job_id}/events",
                                               owner.headers))
            time.sleep(1.0)  # ~200 polls per stream
            assert http.get("/api/jobs", headers=owner.headers).status_code == 200
        finally:
            sa_event.remove(engine.pool, "checkout", out)
            sa_event.remove(engine.pool, "checkin", back)
    assert most[0] == 1, most[0]  # the route's own session and the polls, one at a time


def test_open_streams_do_not_starve_other_requests(gateway_settings, users, make_video) -> None:
    settings = gateway_settings.model_copy(update={"db_session_budget": 2})
    owner = users["owner"]
    with serve_in_thread(create_app(settings)) as base, \
            httpx.Client(base_url=base, timeout=10) as http, ExitStack() as held:
        job_id = submit(http, owner, make_video(owner))
        for _ in range(6):  # three times the budget
            stream = held.enter_context(open_stream(http, f"/api/jobs/{job_id}/events",
                                                    owner.headers))
            assert stream.status_code == 200
        assert http.get("/api/jobs", headers=owner.headers, timeout=5).status_code == 200
