"""Server-sent job events, in-process and over real HTTP (uvicorn on a loopback port)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from sqlalchemy import event as sa_event

from common import job_state
from common.db import engine_for, session_factory
from common.job_state import JobStatus
from common.models import GalleryVideo, Job
from gateway.app import create_app
from gateway.job_events import QueueBoard
from tests.support.servers import serve_in_thread


def parse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event:
            yield event, json.loads(line.removeprefix("data: "))
            event = None


class Seen:
    """What the stream reader has seen so far; the fake worker waits on it, so that it
    moves the job on only after each state was observed (no timing guesses)."""

    def __init__(self) -> None:
        self.states: list[tuple[str, float]] = []
        self.changed = threading.Condition()

    def add(self, status: str, progress: float) -> None:
        with self.changed:
            self.states.append((status, progress))
            self.changed.notify_all()

    def wait_for(self, status: str, progress: float) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: (status, progress) in self.states, 10)


def run_job(database_url: str, job_id: str, seen: Seen) -> None:
    """What a worker does to the row: claim, report progress, succeed."""
    sessions = session_factory(database_url)
    seen.wait_for("QUEUED", 0.0)
    with sessions() as s:
        job_state.claim(s, job_id=job_id, worker_id="w1", stale_after=timedelta(minutes=5))
        s.commit()
    seen.wait_for("RUNNING", 0.0)
    for progress in (0.25, 0.5, 0.75):
        with sessions() as s:
            job_state.heartbeat(s, job_id=job_id, worker_id="w1", progress=progress)
            s.commit()
        seen.wait_for("RUNNING", progress)
    with sessions() as s:
        job_state.succeed(s, job_id=job_id, worker_id="w1")
        s.commit()


def submit(client, user, video) -> str:
    r = client.post("/api/jobs", json={"video_id": video.id}, headers=user.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def check_stream(lines: Iterator[str], seen: Seen) -> None:
    events = []
    for event, data in parse_events(lines):
        events.append((event, data["status"], data.get("progress")))
        seen.add(data["status"], data.get("progress"))
    assert events[0] == ("progress", "QUEUED", 0.0)
    assert [p for e, st, p in events if st == "RUNNING"] == [0.0, 0.25, 0.5, 0.75]
    assert events[-1] == ("done", "SUCCEEDED", 1.0)
    assert [e for e, *_ in events].count("done") == 1


def test_events_stream_progress_until_done(client, users, make_video, gateway_settings):
    owner = users["owner"]
    job_id = submit(client, owner, make_video(owner))
    seen = Seen()
    worker = threading.Thread(target=run_job, args=(gateway_settings.database_url, job_id, seen))
    worker.start()
    with client.stream("GET", f"/api/jobs/{job_id}/events", headers=owner.headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        check_stream(r.iter_lines(), seen)
    worker.join()
    # A finished job's stream is one final event.
    r = client.get(f"/api/jobs/{job_id}/events", headers=owner.headers)
    assert [e for e, _ in parse_events(iter(r.text.splitlines()))] == ["done"]


@pytest.fixture
def live_gateway(gateway_settings) -> Iterator[str]:
    with serve_in_thread(create_app(gateway_settings)) as url:
        yield url


def test_events_over_real_http(live_gateway, users, make_video, gateway_settings):
    owner = users["owner"]
    with httpx.Client(base_url=live_gateway, timeout=10) as http:
        job_id = submit(http, owner, make_video(owner))
        seen = Seen()
        worker = threading.Thread(target=run_job,
                                  args=(gateway_settings.database_url, job_id, seen))
        worker.start()
        with http.stream("GET", f"/api/jobs/{job_id}/events", headers=owner.headers) as r:
            assert r.status_code == 200 and r.headers["x-request-id"]
            check_stream(r.iter_lines(), seen)
        worker.join()
        other = http.get(f"/api/jobs/{job_id}/events", headers=users["other"].headers)
        assert other.status_code == 404
        assert http.get("/metrics").status_code == 404  # not on the public port
        assert generate_latest().decode().count('service="gateway"') > 0


def test_stream_keeps_alive_and_ends_after_its_longest_duration(gateway_settings, users,
                                                                make_video):
    # The longest duration well past one database read on a loaded machine: else the
    # stream can time out at its first read, before any keep-alive was due.
    settings = gateway_settings.model_copy(update={
        "sse_keepalive_s": 0.05, "sse_max_duration_s": 1.5})
    owner = users["owner"]
    with TestClient(create_app(settings)) as client:
        job_id = submit(client, owner, make_video(owner))
        r = client.get(f"/api/jobs/{job_id}/events", headers=owner.headers)
    lines = r.text.splitlines()
    assert lines[0] == "retry: 3000" and ": keep-alive" in lines
    assert [e for e, _ in parse_events(iter(lines))] == ["progress", "timeout"]


def test_a_job_deleted_with_its_video_ends_its_stream_with_gone(
        client, users, make_video, gateway_settings):
    owner = users["owner"]
    video = make_video(owner)
    job_id = submit(client, owner, video)
    sessions = session_factory(gateway_settings.database_url)
    events = []
    with client.stream("GET", f"/api/jobs/{job_id}/events", headers=owner.headers) as r:
        for event, data in parse_events(r.iter_lines()):
            events.append((event, data))
            if event == "progress":  # the video is deleted while we watch
                with sessions() as s:
                    s.delete(s.get(GalleryVideo, video.id))
                    s.commit()
    assert [e for e, _ in events] == ["progress", "gone"]
    assert events[-1][1] == {"id": job_id}  # no status: a deleted job has none


def test_queue_positions_for_streams_cost_one_query_per_interval(gateway_settings):
    """However many streams ask within an interval, the positions are computed once."""
    board = QueueBoard(max_age_s=60)
    queued = Job(id="j", video_id="v", owner_id="u", status=JobStatus.QUEUED)
    engine = engine_for(gateway_settings.database_url)
    computed: list[str] = []

    def count(_conn, _cursor, statement, *_):
        if "row_number" in statement.lower():
            computed.append(statement)

    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        with session_factory(gateway_settings.database_url)() as session:
            for _ in range(5):
                assert board.position(session, queued) is None  # not in the database
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert len(computed) == 1
