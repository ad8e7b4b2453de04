"""Property-based fuzz of streaming from its own OpenAPI: no input may cause a 5xx."""

from __future__ import annotations

from prometheus_client import generate_latest

from streaming.app import create_app
from tests.support.fuzzing import fuzz_app
from tests.support.videos import insert_video, publish


def test_fuzz_finds_no_server_errors(streaming_settings, cognito, s3) -> None:
    video = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"])
    publish(streaming_settings.database_url, s3, video=video,
            bucket=streaming_settings.media_bucket)
    failures = fuzz_app(create_app(streaming_settings), headers=cognito.headers("owner"),
                        max_examples=6, known={"video_id": video.id})
    assert not failures, "\n".join(failures)


def test_openapi_documents_every_route_and_metrics(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {
        "/api/stream/{video_id}/qualities", "/api/stream/{video_id}",
        "/api/stream/{video_id}/thumbnail", "/api/stream/{video_id}/preview",
        "/api/stream/{video_id}/master.m3u8", "/api/stream/{video_id}/hls/{quality}/index.m3u8",
        "/api/stream/{video_id}/storyboard.vtt"}
    client.get("/api/stream/unknown/qualities")
    metrics = generate_latest().decode()
    assert 'route="/api/stream/{video_id}/qualities",service="streaming",status="404"' in metrics
