"""Mount mode: one gateway process serves the gallery and streaming APIs too, so the
browser sees one origin. Upload, confirm, submit a job and play, all through the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from fastapi.testclient import TestClient

from common import aws
from common.models import Visibility
from tests.support.aws_resources import queued_messages
from tests.support.media import make_clip
from tests.support.videos import publish
from videoforge import services
from videoforge.stack.net import free_port


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    path = make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", duration=0.5,
                     size="160x120", audio=False)
    return Path(path).read_bytes()


@pytest.fixture
def mounted(gateway_settings) -> Iterator[TestClient]:
    client = TestClient(services.build("gateway", gateway_settings.model_copy(
        update={"gateway_mode": "mount", "gateway_metrics_port": free_port()})))
    with client:
        yield client


def test_upload_confirm_and_submit_through_one_origin(mounted, users, clip, gateway_settings):
    owner = users["owner"]
    r = mounted.post("/api/upload/url", headers=owner.headers, json={
        "filename": "clip.mp4", "size_bytes": len(clip), "content_type": "video/mp4",
        "title": "through the gateway"})
    assert r.status_code == 201, r.text
    grant = r.json()
    assert httpx.put(grant["upload_url"], content=clip, headers=grant["headers"]
                     ).status_code == 200
    confirmed = mounted.post("/api/upload/confirm", json={"video_id": grant["video_id"]},
                             headers=owner.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["video"]["status"] == "UPLOADED"
    job = mounted.post("/api/jobs", json={"video_id": grant["video_id"]}, headers=owner.headers)
    assert job.status_code == 201, job.text
    video = mounted.get(f"/api/gallery/videos/{grant['video_id']}", headers=owner.headers)
    assert video.status_code == 200 and video.json()["status"] == "PROCESSING"
    assert [m.reason for m in queued_messages(gateway_settings)] == ["submitted"]
    # The services still decide who sees what: someone else's private video is 404.
    other = mounted.get(f"/api/gallery/videos/{grant['video_id']}",
                        headers=users["other"].headers)
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert mounted.get("/api/gallery/videos").status_code == 200


def test_streaming_through_the_gateway(mounted, users, make_video, gateway_settings):
    video = make_video(users["owner"], visibility=Visibility.PUBLIC)
    s3 = aws.client("s3", gateway_settings)
    publish(gateway_settings.database_url, s3, video=video, bucket=gateway_settings.media_bucket)
    qualities = mounted.get(f"/api/stream/{video.id}/qualities")
    assert qualities.status_code == 200, qualities.text
    assert [q["quality"] for q in qualities.json()["qualities"]] == ["480p", "720p"]
    master = mounted.get(f"/api/stream/{video.id}/master.m3u8")
    assert master.status_code == 200 and "#EXT-X-STREAM-INF" in master.text
    variant_uri = next(line for line in master.text.splitlines() if "index.m3u8" in line)
    # Variant URIs are relative to the master playlist, as an HLS player resolves them.
    variant = mounted.get(urljoin(str(master.url), variant_uri))
    assert variant.status_code == 200 and "#EXTINF" in variant.text
    # Routed requests are measured by the gateway and by the service itself, and the
    # gateway's metrics listener serves both (one process, one registry).
    port = mounted.app.state.service.settings.gateway_metrics_port
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'route="/api/stream/{path}",service="gateway"' in metrics
    assert 'service="streaming"' in metrics


def test_mounted_routes_are_rate_limited(gateway_settings, users):
    settings = gateway_settings.model_copy(update={"gateway_mode": "mount",
                                                   "rate_limit_upload": "1/60"})
    body = {"filename": "a.mp4", "size_bytes": 10, "content_type": "video/mp4"}
    with TestClient(services.build("gateway", settings)) as client:
        first = client.post("/api/upload/url", json=body, headers=users["owner"].headers)
        second = client.post("/api/upload/url", json=body, headers=users["owner"].headers)
    assert first.status_code == 201 and second.status_code == 429
    assert second.headers["Retry-After"]
