"""Job submission, status, listing and cancel over PostgreSQL and a moto SQS queue."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import event

from common import job_state
from common.db import engine_for, session_factory
from common.error_codes import ErrorCode
from common.job_state import JobStatus
from common.models import GalleryVideo, Job, VideoStatus, Visibility
from tests.support.aws_resources import queued_messages
from tests.support.races import before_statement


def submit(client, user, video_id, **body):
    headers = dict(user.headers)
    if key := body.pop("key", None):
        headers["Idempotency-Key"] = key
    return client.post("/api/jobs", json={"video_id": str(video_id), **body}, headers=headers)


def test_submit_queues_a_job_and_one_message(client, users, make_video, gateway_settings):
    video = make_video(users["owner"])
    r = submit(client, users["owner"], video.id, qualities=["720p", "480p"], priority=3)
    assert r.status_code == 201, r.text
    job = r.json()
    assert r.headers["Location"] == f"/api/jobs/{job['id']}"
    assert job["status"] == "QUEUED" and job["queue_position"] == 0
    assert job["qualities"] == ["480p", "720p"] and job["priority"] == 3
    assert job["timings"]["started_at"] is None and job["owner_id"] == users["owner"].sub
    [message] = queued_messages(gateway_settings)  # a wake-up token: it names nothing
    assert message.reason == "submitted" and job["id"] not in message.encode()
    assert video.source_key not in message.encode()
    with session_factory(gateway_settings.database_url)() as s:
        assert s.get(GalleryVideo, video.id).status == VideoStatus.PROCESSING


def test_idempotency_key_returns_the_first_job(client, users, make_video, gateway_settings):
    video = make_video(users["owner"])
    first = submit(client, users["owner"], video.id, key="retry-me-1")
    again = submit(client, users["owner"], video.id, key="retry-me-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert len(queued_messages(gateway_settings)) == 1
    # The same key for another video is a client bug, not a replay.
    other_video = make_video(users["owner"])
    clash = submit(client, users["owner"], other_video.id, key="retry-me-1")
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "idempotency_key_reused"
    # A second job for a video with one already queued is a conflict.
    assert submit(client, users["owner"], video.id).status_code == 409


INVALID_SUBMISSIONS = [
    ({"video_id": "not-a-uuid"}, {}),
    ({}, {}),
    ({"video_id": "{vid}", "qualities": ["999p"]}, {}),
    ({"video_id": "{vid}", "qualities": []}, {}),
    ({"video_id": "{vid}", "priority": 99}, {}),
    ({"video_id": "{vid}", "priority": "high"}, {}),
    ({"video_id": "{vid}"}, {"Idempotency-Key": "x" * 200}),
    ({"video_id": "{vid}"}, {"Idempotency-Key": "has space"}),
]


def test_invalid_submissions_are_422(client, users, make_video, gateway_settings):
    video = make_video(users["owner"])
    for body, headers in INVALID_SUBMISSIONS:
        body = {k: (video.id if v == "{vid}" else v) for k, v in body.items()}
        r = client.post("/api/jobs", json=body, headers={**users["owner"].headers, **headers})
        assert r.status_code == 422, (body, headers, r.text)
        assert r.json()["error"]["code"] == "invalid" and r.json()["error"]["message"]
    assert queued_messages(gateway_settings) == []


def test_video_that_cannot_be_processed(client, users, make_video):
    owner = users["owner"]
    assert submit(client, owner, uuid.uuid4()).status_code == 404
    uploading = make_video(owner, status=VideoStatus.UPLOADING)
    r = submit(client, owner, uploading.id)
    assert r.status_code == 409 and "uploading" in r.json()["error"]["message"]
    not_json = client.post("/api/jobs", content=b"{oops", headers={
        **owner.headers, "Content-Type": "application/json"})
    assert not_json.status_code == 422


def test_status_and_queue_position(client, users, make_video):
    owner = users["owner"]
    ids = [submit(client, owner, make_video(owner).id, priority=p).json()["id"]
           for p in (0, 0, 5)]
    positions = [client.get(f"/api/jobs/{i}", headers=owner.headers).json()["queue_position"]
                 for i in ids]
    # The high-priority job runs first; equal priorities run oldest first.
    assert positions == [1, 2, 0]
    assert client.get(f"/api/jobs/{uuid.uuid4()}", headers=owner.headers).status_code == 404
    assert client.get("/api/jobs/not-an-id", headers=owner.headers).status_code == 404


def test_list_is_mine_newest_first_by_cursor(client, users, make_video):
    owner, other = users["owner"], users["other"]
    mine = [submit(client, owner, make_video(owner).id).json()["id"] for _ in range(5)]
    submit(client, other, make_video(other).id)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/jobs", params=params, headers=owner.headers).json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == mine[::-1]
    queued = client.get("/api/jobs", params={"status": "QUEUED"}, headers=owner.headers)
    assert len(queued.json()["items"]) == 5
    for params in ({"cursor": "garbage"}, {"cursor": "eyJ0IjogMX0"}):
        r = client.get("/api/jobs", params=params, headers=owner.headers)
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_cursor"
    for params in ({"limit": 0}, {"limit": 101}, {"status": "NOPE"}, {"video_id": "x"},
                   {"cursor": "not base64!"}):
        assert client.get("/api/jobs", params=params, headers=owner.headers).status_code == 422
    everyone = client.get("/api/jobs", params={"all": "true", "limit": 100},
                          headers=users["admin"].headers).json()["items"]
    assert len(everyone) == 6
    assert client.get("/api/jobs", params={"all": "true"}, headers=owner.headers
                      ).status_code == 403


def test_cancel_queued_job_never_runs(client, users, make_video, gateway_settings):
    owner = users["owner"]
    video = make_video(owner)
    job_id = submit(client, owner, video.id).json()["id"]
    r = client.delete(f"/api/jobs/{job_id}", headers=owner.headers)
    assert r.status_code == 200 and r.json()["status"] == "CANCELLED"
    sessions = session_factory(gateway_settings.database_url)
    with sessions() as s:
        # The worker that receives its message cannot claim it.
        assert not job_state.claim(s, job_id=job_id, worker_id="w1",
                                   stale_after=timedelta(minutes=5))
        s.commit()
        assert s.get(GalleryVideo, video.id).status == VideoStatus.UPLOADED
    again = client.delete(f"/api/jobs/{job_id}", headers=owner.headers)
    assert again.status_code == 409
    # The video can be processed again.
    assert submit(client, owner, video.id).status_code == 201


def test_cancel_running_job_flags_its_worker(client, users, make_video, gateway_settings):
    owner = users["owner"]
    job_id = submit(client, owner, make_video(owner).id).json()["id"]
    sessions = session_factory(gateway_settings.database_url)
    with sessions() as s:
        assert job_state.claim(s, job_id=job_id, worker_id="w1",
                               stale_after=timedelta(minutes=5))
        s.commit()
    r = client.delete(f"/api/jobs/{job_id}", headers=owner.headers)
    assert r.status_code == 200
    assert r.json()["status"] == "RUNNING" and r.json()["cancel_requested"] is True
    with sessions() as s:
        beat = job_state.heartbeat(s, job_id=job_id, worker_id="w1", progress=0.5)
        assert beat.cancel_requested
        assert not job_state.succeed(s, job_id=job_id, worker_id="w1")
        assert job_state.mark_cancelled(s, job_id=job_id, worker_id="w1")
        s.commit()
        assert s.get(Job, job_id).status == JobStatus.CANCELLED


def test_other_users_public_video_is_403(client, users, make_video):
    public = make_video(users["owner"], visibility=Visibility.PUBLIC)
    r = submit(client, users["other"], public.id)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_quality_aliases_are_accepted_by_the_api(client, users, make_video):
    owner = users["owner"]
    r = submit(client, owner, make_video(owner).id, qualities=["4k", "720P"])
    assert r.status_code == 201, r.text
    assert r.json()["qualities"] == ["720p", "2160p"]
    bad = submit(client, owner, make_video(owner).id, qualities=["8k"])
    assert bad.status_code == 422 and "choose from 480p, 720p, 1080p, 2160p" in bad.text


def test_a_claim_racing_a_cancel_never_resets_the_running_jobs_video(
        client, users, make_video, gateway_settings):
    """The worker claims the job between the gateway's read and its cancel: the cancel
    only flags the running job, and the video stays PROCESSING under it."""
    owner = users["owner"]
    video = make_video(owner)
    job_id = submit(client, owner, video.id).json()["id"]
    sessions = session_factory(gateway_settings.database_url)

    def worker_claims() -> None:
        with sessions() as s:
            assert job_state.claim(s, job_id=job_id, worker_id="w1",
                                   stale_after=timedelta(minutes=5))
            s.commit()

    with before_statement(engine_for(gateway_settings.database_url), "UPDATE jobs",
                          worker_claims) as fired:
        r = client.delete(f"/api/jobs/{job_id}", headers=owner.headers)
    assert fired, "the race did not happen"
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "RUNNING" and r.json()["cancel_requested"] is True
    with sessions() as s:
        assert s.get(Job, job_id).worker_id == "w1"
        assert s.get(GalleryVideo, video.id).status == VideoStatus.PROCESSING


def test_the_api_publishes_the_job_lifecycle(client, users):
    r = client.get("/api/jobs/lifecycle", headers=users["owner"].headers)
    assert r.status_code == 200
    assert r.json() == {
        "statuses": ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"],
        "terminal": ["SUCCEEDED", "FAILED", "CANCELLED"],
        "events": ["progress", "done", "gone", "timeout"],
    }
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "gone" in schemas["JobEvent"]["enum"]
    assert set(schemas["ErrorCode"]["enum"]) == {c.value for c in ErrorCode}
    assert "error_code" in schemas["JobPublic"]["properties"]


def test_a_failed_jobs_code_is_in_the_api(client, users, make_video, gateway_settings):
    owner = users["owner"]
    job_id = submit(client, owner, make_video(owner).id).json()["id"]
    with session_factory(gateway_settings.database_url)() as s:
        job_state.claim(s, job_id=job_id, worker_id="w1", stale_after=timedelta(minutes=5))
        job_state.fail(s, job_id=job_id, worker_id="w1", reason="the file is not a video",
                       code=ErrorCode.NOT_MEDIA)
        s.commit()
    job = client.get(f"/api/jobs/{job_id}", headers=owner.headers).json()
    assert (job["status"], job["error"], job["error_code"]) == (
        "FAILED", "the file is not a video", "not_media")


def test_a_page_of_jobs_costs_one_position_query(client, users, make_video, gateway_settings):
    owner, other = users["owner"], users["other"]
    mine = [submit(client, owner, make_video(owner).id).json()["id"] for _ in range(4)]
    theirs = submit(client, other, make_video(other).id).json()["id"]
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_):
        if "row_number" in statement.lower():
            statements.append(statement)

    engine = engine_for(gateway_settings.database_url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get("/api/jobs", params={"all": "true"}, headers=users["admin"].headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert page.status_code == 200 and len(statements) == 1
    positions = {j["id"]: j["queue_position"] for j in page.json()["items"]}
    # The scheduler's order: the other user's job is next after the owner's first.
    assert [positions[i] for i in [mine[0], theirs, *mine[1:]]] == [0, 1, 2, 3, 4]
