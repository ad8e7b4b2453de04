"""The streaming Lambda handler answers API Gateway HTTP API events."""

from __future__ import annotations

from common.models import Visibility
from tests.support.lambda_events import http_api_event, invoke, load_handler
from tests.support.videos import insert_video, publish


def test_lambda_lists_public_qualities(monkeypatch, streaming_settings, cognito, s3) -> None:
    handler = load_handler(monkeypatch, "streaming", streaming_settings)
    public = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"])
    private = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"],
                           visibility=Visibility.PRIVATE)
    for video in (public, private):
        publish(streaming_settings.database_url, s3, video=video,
                bucket=streaming_settings.media_bucket)
    status, body = invoke(handler, http_api_event("GET", f"/api/stream/{public.id}/qualities"))
    assert status == 200 and [q["quality"] for q in body["qualities"]] == ["480p", "720p"]
    status, body = invoke(handler, http_api_event("GET", f"/api/stream/{private.id}",
                                                  query="quality=720p"))
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = invoke(handler, http_api_event(
        "GET", f"/api/stream/{private.id}", query="quality=720p",
        headers={"authorization": f"Bearer {cognito.tokens['owner']}"}))
    assert status == 200 and "X-Amz-Signature=" in body["url"]
