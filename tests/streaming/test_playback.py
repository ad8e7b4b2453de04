"""Streaming: qualities, presigned URLs that really download, images, the
authorization matrix over every route, and the not-ready cases."""

from __future__ import annotations

import httpx
import pytest

from common.models import VideoStatus, Visibility
from tests.support.videos import insert_video, publish

ROLES = (None, "owner", "other", "admin")


@pytest.fixture
def published(streaming_settings, cognito, s3):
    def make(visibility: Visibility = Visibility.PUBLIC):
        video = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"],
                             visibility=visibility, duration_s=2.0)
        publish(streaming_settings.database_url, s3, video=video,
                bucket=streaming_settings.media_bucket)
        return video

    return make


def test_qualities_list_what_exists(client, published) -> None:
    video = published()
    body = client.get(f"/api/stream/{video.id}/qualities").json()
    assert [q["quality"] for q in body["qualities"]] == ["480p", "720p"]
    q720 = body["qualities"][1]
    assert (q720["width"], q720["height"], q720["bitrate"]) == (1280, 720, 2_800_000)
    assert q720["size_bytes"] == len(b"mp4-720p") and q720["content_type"] == "video/mp4"
    assert body["hls"] and body["thumbnail"] and body["preview"] and body["status"] == "READY"


def test_stream_url_downloads_the_quality(client, published) -> None:
    video = published()
    body = client.get(f"/api/stream/{video.id}", params={"quality": "720p"}).json()
    assert body["quality"] == "720p" and "X-Amz-Signature=" in body["url"]
    assert body["expires_at"] and body["height"] == 720
    assert httpx.get(body["url"]).content == b"mp4-720p"


def test_quality_errors(client, published) -> None:
    video = published()
    r = client.get(f"/api/stream/{video.id}", params={"quality": "2160p"})
    assert r.status_code == 404 and "2160p" in r.json()["error"]["message"]
    for bad in ("99999p", "", "best", "720px", "0p"):
        r = client.get(f"/api/stream/{video.id}", params={"quality": bad})
        assert r.status_code == 422, bad
    # Aliases work as POST /api/jobs takes them.
    for alias in ("hd", "720", "HD", "720P"):
        r = client.get(f"/api/stream/{video.id}", params={"quality": alias})
        assert r.status_code == 200 and r.json()["quality"] == "720p", alias
    r = client.get(f"/api/stream/{video.id}", params={"quality": "4k"})
    assert r.status_code == 404 and "2160p" in r.json()["error"]["message"]
    assert client.get("/api/stream/nope", params={"quality": "720p"}).status_code == 404


def test_auto_gives_the_hls_master(client, published) -> None:
    video = published()
    body = client.get(f"/api/stream/{video.id}", params={"quality": "auto"}).json()
    assert body["url"].startswith(f"http://testserver/api/stream/{video.id}/master.m3u8?grant=")
    assert body["content_type"] == "application/vnd.apple.mpegurl"


def test_thumbnail_and_preview(client, published) -> None:
    video = published()
    for route, content in (("thumbnail", b"\xff\xd8\xff\xe0fake-jpeg"),
                           ("preview", b"GIF89afake")):
        body = client.get(f"/api/stream/{video.id}/{route}").json()
        assert httpx.get(body["url"]).content == content
        r = client.get(f"/api/stream/{video.id}/{route}", params={"redirect": "true"},
                       follow_redirects=False)
        assert r.status_code == 307 and "X-Amz-Signature=" in r.headers["location"]


def test_not_ready_video(client, streaming_settings, cognito) -> None:
    video = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"],
                         status=VideoStatus.PROCESSING)
    body = client.get(f"/api/stream/{video.id}/qualities").json()
    assert body["qualities"] == [] and body["status"] == "PROCESSING" and not body["hls"]
    for path in ("", "/thumbnail", "/preview", "/master.m3u8"):
        r = client.get(f"/api/stream/{video.id}{path}", params={"quality": "720p"} if not path
                       else None)
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_ready", path


ROUTES = {
    "qualities": lambda c, v, h: c.get(f"/api/stream/{v.id}/qualities", headers=h),
    "url 720p": lambda c, v, h: c.get(f"/api/stream/{v.id}?quality=720p", headers=h),
    "url auto": lambda c, v, h: c.get(f"/api/stream/{v.id}?quality=auto", headers=h),
    "thumbnail": lambda c, v, h: c.get(f"/api/stream/{v.id}/thumbnail", headers=h),
    "preview": lambda c, v, h: c.get(f"/api/stream/{v.id}/preview", headers=h),
    "master": lambda c, v, h: c.get(f"/api/stream/{v.id}/master.m3u8", headers=h),
    "variant": lambda c, v, h: c.get(f"/api/stream/{v.id}/hls/720p/index.m3u8", headers=h),
}


def test_authorization_matrix(client, published, cognito) -> None:
    failures = []
    videos = {vis: published(Visibility(vis)) for vis in ("public", "private")}
    for route, call in ROUTES.items():
        for vis, video in videos.items():
            for role in ROLES:
                want = 200 if vis == "public" or role in ("owner", "admin") else 404
                got = call(client, video, cognito.headers(role)).status_code
                if got != want:
                    failures.append(f"{route} × {vis} × {role or 'anonymous'}: "
                                    f"got {got}, want {want}")
    assert not failures, "\n".join(failures)
