"""Metadata CRUD, the authorization matrix over every gallery route, deletes that remove
every object, and replay-resistant view counting."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from common import job_state
from common.db import engine_for, session_factory, transaction
from common.models import Job, VideoStatus, Visibility
from common.storage import upload_key
from tests.support.races import ClaimRacer, before_statement
from tests.support.videos import insert_video, publish

ROLES = (None, "owner", "other", "admin")


def _expected(role: str | None, visibility: str, *, ok: int, read: bool = False,
              listed: bool | None = None) -> int:
    """The status the matrix expects: readers need visibility, writers ownership."""
    if role in ("owner", "admin"):
        return ok
    if read:
        return ok if visibility == "public" else 404
    if role is None:
        return 401
    return 403 if visibility == "public" else 404


def _run_matrix(client, cognito, gallery_settings, s3, call: Callable, expect: Callable,
                status: VideoStatus = VideoStatus.READY) -> list[str]:
    failures = []
    for visibility in ("public", "private"):
        for role in ROLES:
            video = insert_video(gallery_settings.database_url, owner_id=cognito.subs["owner"],
                                 title="matrix clip", description="matrix",
                                 visibility=Visibility(visibility), status=status,
                                 source_bucket=gallery_settings.uploads_bucket,
                                 source_key=f"uploads/x/{visibility}-{role}/clip.mp4",
                                 source_size=10)
            got = call(client, video, cognito.headers(role), s3)
            want = expect(role, visibility)
            if got != want:
                failures.append(f"{role or 'anonymous'} × {visibility}: got {got}, want {want}")
    return failures


def _listed(response, video) -> int:
    """200-and-listed → 200; 200-and-absent → 0 (so the matrix can say which)."""
    if response.status_code != 200:
        return response.status_code
    return 200 if video.id in {v["id"] for v in response.json()["items"]} else 0


MATRIX = {
    "GET /api/gallery/videos/{id}": (
        lambda c, v, h, s3: c.get(f"/api/gallery/videos/{v.id}", headers=h).status_code,
        lambda role, vis: _expected(role, vis, ok=200, read=True)),
    "PUT /api/gallery/videos/{id}": (
        lambda c, v, h, s3: c.put(f"/api/gallery/videos/{v.id}", headers=h,
                                  json={"title": "renamed"}).status_code,
        lambda role, vis: _expected(role, vis, ok=200)),
    "DELETE /api/gallery/videos/{id}": (
        lambda c, v, h, s3: c.delete(f"/api/gallery/videos/{v.id}", headers=h).status_code,
        lambda role, vis: _expected(role, vis, ok=204)),
    "POST /api/gallery/videos/{id}/views": (
        lambda c, v, h, s3: c.post(f"/api/gallery/videos/{v.id}/views", headers=h).status_code,
        lambda role, vis: _expected(role, vis, ok=200, read=True)),
    "GET /api/gallery/videos (search lists it)": (
        lambda c, v, h, s3: _listed(c.get("/api/gallery/videos", headers=h,
                                          params={"q": "matrix", "limit": 100}), v),
        lambda role, vis: 200 if vis == "public" or role in ("owner", "admin") else 0),
    "GET /api/gallery/me/videos (lists it)": (
        lambda c, v, h, s3: _listed(c.get("/api/gallery/me/videos", headers=h,
                                          params={"limit": 100}), v),
        lambda role, vis: 401 if role is None else (200 if role == "owner" else 0)),
}

UPLOAD_MATRIX = {
    # 409 "nothing uploaded yet" proves the caller got past authorization.
    "POST /api/upload/confirm": (
        lambda c, v, h, s3: c.post("/api/upload/confirm", headers=h,
                                   json={"video_id": v.id}).status_code,
        lambda role, vis: _expected(role, vis, ok=409)),
    "POST /api/upload/multipart/abort": (
        lambda c, v, h, s3: c.post("/api/upload/multipart/abort", headers=h, json={
            "video_id": v.id, "upload_id": s3.create_multipart_upload(
                Bucket=v.source_bucket, Key=v.source_key)["UploadId"]}).status_code,
        lambda role, vis: _expected(role, vis, ok=204)),
}


def test_authorization_matrix(client, cognito, gallery_settings, s3) -> None:
    failures = []
    for route, (call, expect) in MATRIX.items():
        failures += [f"{route}: {f}" for f in
                     _run_matrix(client, cognito, gallery_settings, s3, call, expect)]
    for route, (call, expect) in UPLOAD_MATRIX.items():
        failures += [f"{route}: {f}" for f in _run_matrix(
            client, cognito, gallery_settings, s3, call, expect, status=VideoStatus.UPLOADING)]
    for route in ("/api/upload/url", "/api/upload/multipart/init"):
        body = {"filename": "a.mp4", "size_bytes": 100}
        for role in ROLES:
            got = client.post(route, json=body, headers=cognito.headers(role)).status_code
            if got != (401 if role is None else 201):
                failures.append(f"POST {route}: {role or 'anonymous'}: got {got}")
    assert not failures, "\n".join(failures)


def test_bad_tokens_are_401_never_anonymous(client, cognito, gallery_settings) -> None:
    video = insert_video(gallery_settings.database_url, owner_id=cognito.subs["owner"])
    for header in ("Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer",
                   f"Bearer {cognito.tokens['owner'][:-4]}AAAA"):
        r = client.get(f"/api/gallery/videos/{video.id}", headers={"Authorization": header})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", header


def test_update_validates_and_applies(client, cognito, gallery_settings) -> None:
    video = insert_video(gallery_settings.database_url, owner_id=cognito.subs["owner"],
                         visibility=Visibility.PRIVATE)
    url, headers = f"/api/gallery/videos/{video.id}", cognito.headers("owner")
    for bad in ({}, {"title": "x" * 201}, {"visibility": "friends"}, {"owner_id": "me"}):
        assert client.put(url, json=bad, headers=headers).status_code == 422, bad
    r = client.put(url, json={"title": " Holiday ", "visibility": "public"}, headers=headers)
    assert r.status_code == 200 and r.json()["title"] == "Holiday"
    assert client.get(url).json()["visibility"] == "public"  # now anyone may see it
    assert client.get("/api/gallery/videos/does-not-exist").status_code == 404


def test_delete_removes_every_object(client, cognito, gallery_settings, s3) -> None:
    owner, video_id = cognito.subs["owner"], str(uuid.uuid4())
    video = insert_video(gallery_settings.database_url, owner_id=owner, id=video_id,
                         source_bucket=gallery_settings.uploads_bucket,
                         source_key=upload_key(user_id=owner, video_id=video_id,
                                               filename="clip.mp4"), source_size=3)
    # A part left over from an abandoned multipart upload goes too.
    s3.put_object(Bucket=gallery_settings.uploads_bucket, Body=b"x",
                  Key=upload_key(user_id=owner, video_id=video_id, filename="clip.mp4.part1"))
    s3.put_object(Bucket=gallery_settings.uploads_bucket, Key=video.source_key, Body=b"abc")
    publish(gallery_settings.database_url, s3, video=video,
            bucket=gallery_settings.media_bucket)
    media = s3.list_objects_v2(Bucket=gallery_settings.media_bucket, Prefix="videos/")
    assert media["KeyCount"] > 5
    r = client.delete(f"/api/gallery/videos/{video.id}", headers=cognito.headers("owner"))
    assert r.status_code == 204
    for bucket in (gallery_settings.media_bucket, gallery_settings.uploads_bucket):
        assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0, bucket
    assert client.get(f"/api/gallery/videos/{video.id}",
                      headers=cognito.headers("owner")).status_code == 404


def test_a_worker_claiming_the_job_while_its_video_is_deleted_gets_nothing(
        client, cognito, gallery_settings) -> None:
    """The claim comes at the worst moment, just before the video row goes: the job was
    cancelled by then, so no worker runs (and uploads into) a deleted video."""
    owner = cognito.subs["owner"]
    video = insert_video(gallery_settings.database_url, owner_id=owner,
                         status=VideoStatus.UPLOADED, source_bucket=gallery_settings.uploads_bucket,
                         source_key=f"uploads/{owner}/x/clip.mp4")
    sessions = session_factory(gallery_settings.database_url)
    with transaction(sessions) as session:
        job = Job(video_id=video.id, owner_id=owner)
        assert job_state.enqueue(session, job=job)
    racer = ClaimRacer(sessions)
    with before_statement(engine_for(gallery_settings.database_url),
                          "DELETE FROM gallery_videos", racer) as fired:
        r = client.delete(f"/api/gallery/videos/{video.id}", headers=cognito.headers("owner"))
    assert fired and r.status_code == 204
    assert racer.result() == [None]


def test_views_count_once_per_viewer_per_window(client, cognito, gallery_settings) -> None:
    video = insert_video(gallery_settings.database_url, owner_id=cognito.subs["owner"])
    url = f"/api/gallery/videos/{video.id}/views"
    first = client.post(url)
    assert first.json() == {"video_id": video.id, "counted": True, "view_count": 1}
    for _ in range(5):  # replays from the same address
        assert client.post(url).json()["counted"] is False
    assert client.post(url, headers=cognito.headers("other")).json()["counted"] is True
    assert client.post(url, headers=cognito.headers("other")).json()["counted"] is False
    # Forwarded-for is not trusted by default: a forged header cannot mint new viewers.
    r = client.post(url, headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.json()["counted"] is False
    assert client.get(f"/api/gallery/videos/{video.id}").json()["view_count"] == 2


def test_memory_deduper_expires_and_stays_bounded() -> None:
    from gallery.views import MemoryViewDeduper

    now = [0.0]
    dedupe = MemoryViewDeduper(max_entries=3, clock=lambda: now[0])
    assert dedupe.first_in_window("v", "ip:1", 60)
    assert not dedupe.first_in_window("v", "ip:1", 60)
    now[0] = 61
    assert dedupe.first_in_window("v", "ip:1", 60)
    for i in range(10):
        dedupe.first_in_window("v", f"ip:{i + 2}", 60)
    assert len(dedupe._seen) == 3


def test_forwarded_for_cannot_inflate_views_behind_a_proxy(cognito, gallery_settings) -> None:
    """Behind one trusted proxy (the gateway in proxy mode, a load balancer), the proxy
    appends the address it saw; entries to its left are the caller's own and mint no
    viewers."""
    from fastapi.testclient import TestClient

    from gallery.app import create_app

    settings = gallery_settings.model_copy(update={"trusted_proxies": 1})
    video = insert_video(gallery_settings.database_url, owner_id=cognito.subs["owner"])
    url = f"/api/gallery/videos/{video.id}/views"
    with TestClient(create_app(settings)) as client:
        counted = [client.post(url, headers={
            "X-Forwarded-For": f"198.51.100.{i}, 203.0.113.7"}).json()["counted"]
            for i in range(5)]
        # A caller that skipped the proxy (or one fewer hop than configured): the peer.
        client.post(url)
        view_count = client.get(f"/api/gallery/videos/{video.id}").json()["view_count"]
    assert counted == [True, False, False, False, False]
    assert view_count == 2
