"""Property-based fuzz of the gallery from its own OpenAPI: no input may cause a 5xx."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from gallery.app import create_app
from tests.support.fuzzing import fuzz_app
from tests.support.videos import insert_video
from videoforge.stack.net import free_port


def test_fuzz_finds_no_server_errors(gallery_settings, cognito) -> None:
    video = insert_video(gallery_settings.database_url, owner_id=cognito.subs["owner"])
    app = create_app(gallery_settings)
    failures = fuzz_app(app, headers=cognito.headers("owner"), max_examples=6,
                        known={"video_id": video.id})
    assert not failures, "\n".join(failures)


def test_openapi_documents_every_route_and_metrics(gallery_settings) -> None:
    port = free_port()
    settings = gallery_settings.model_copy(update={"gallery_metrics_port": port})
    with TestClient(create_app(settings)) as client:
        paths = client.get("/openapi.json").json()["paths"]
        client.get("/api/gallery/videos")
        assert client.get("/metrics").status_code == 404  # not on the public port
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics")
    assert {"/api/gallery/videos", "/api/gallery/videos/{video_id}", "/api/gallery/me/videos",
            "/api/gallery/videos/{video_id}/views", "/api/upload/url", "/api/upload/confirm",
            "/api/upload/multipart/init", "/api/upload/multipart/parts",
            "/api/upload/multipart/complete", "/api/upload/multipart/abort"} <= set(paths)
    assert metrics.status_code == 200
    assert 'videoforge_http_requests_total{method="GET",route="/api/gallery/videos",' \
           'service="gallery",status="200"}' in metrics.text
    assert "videoforge_http_request_duration_seconds_bucket" in metrics.text
