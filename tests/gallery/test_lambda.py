"""The gallery Lambda handler answers API Gateway HTTP API events."""

from __future__ import annotations

from tests.support.lambda_events import http_api_event, invoke, load_handler
from tests.support.videos import insert_video


def test_lambda_searches_and_updates(monkeypatch, gallery_settings, cognito) -> None:
    handler = load_handler(monkeypatch, "gallery", gallery_settings)
    video = insert_video(gallery_settings.database_url, owner_id=cognito.subs["owner"],
                         title="Lambda sunset", description="over the sea")
    status, body = invoke(handler, http_api_event("GET", "/api/gallery/videos",
                                                  query="q=sunset&limit=5"))
    assert status == 200 and [v["id"] for v in body["items"]] == [video.id]
    auth = {"authorization": f"Bearer {cognito.tokens['owner']}"}
    status, body = invoke(handler, http_api_event("PUT", f"/api/gallery/videos/{video.id}",
                                                  headers=auth, body={"title": "Dusk"}))
    assert status == 200 and body["title"] == "Dusk"
    status, body = invoke(handler, http_api_event("PUT", f"/api/gallery/videos/{video.id}",
                                                  body={"title": "x"}))
    assert status == 401 and body["error"]["code"] == "unauthorized"
