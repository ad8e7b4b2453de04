"""Property-based fuzz of the gallery from its own OpenAPI: no input may cause a 5xx."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gallery.app import create_app
from tests.support.fuzzing import fuzz_app
from tests.support.videos import insert_video


def test_fuzz_finds_no_server_errors(gallery_settings, cognito) -> None:
    video = insert_video(gallery_settings.database_url, owner_id=cognito.subs["owner"])
    app = create_app(gallery_settings)
    failures = fuzz_app(app, headers=cognito.headers("owner"), max_examples=6,
                        known={"video_id": video.id})
    assert not failures, "\n".join(failures)


def test_openapi_documents_every_route_and_metrics(gallery_settings) -> None:
    with TestClient(create_app(gallery_settings)) as client:
        paths = client.get("/openapi.json").json()["paths"]
        client.get("/api/gallery/videos")
        metrics = client.get("/metrics")
    assert {"/api/gallery/videos", "/api/gallery/videos/{video_id}", "/api/gallery/me/videos",
            "/api/gallery/videos/{video_id}/views", "/api/upload/url", "/api/upload/confirm",
            "/api/upload/multipart/init", "/api/upload/multipart/parts",
            "/api/upload/multipart/complete", "/api/upload/multipart/abort"} <= set(paths)
    assert metrics.status_code == 200
    assert 'videoforge_http_requests_total{method="GET",route="/api/gallery/videos",' \
           'service="gallery",status="200"}' in metrics.text
    assert "videoforge_http_request_duration_seconds_bucket" in metrics.text
