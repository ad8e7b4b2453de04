"""The streaming ASGI app: ``uvicorn streaming.app:app`` (or ``create_app(settings)``)."""

from __future__ import annotations

from fastapi import FastAPI

from common.webapp import service_app
from streaming import routes
from streaming.grants import GrantSigner
from streaming.playback import PresignCache
from streaming.playlist_cache import PlaylistCache
from streaming.settings import StreamingSettings


def create_app(settings: StreamingSettings | None = None) -> FastAPI:
    settings = settings or StreamingSettings()
    app = service_app(
        service="streaming", settings=settings, title="VideoForge streaming",
        description="Read-only playback: qualities, presigned URLs per quality, poster and "
                    "preview images, and HLS playlists that play from a private bucket.")
    key = settings.stream_signing_key
    app.state.grants = GrantSigner(key.get_secret_value().encode() if key else None)
    app.state.presigner = PresignCache(app.state.s3)
    app.state.playlists = PlaylistCache(app.state.s3)
    app.include_router(routes.router)
    return app


app = create_app()
