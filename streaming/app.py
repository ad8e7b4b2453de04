"""The streaming ASGI app: ``create_app(settings)``; ``uvicorn streaming.app:app`` builds
one from the environment on first access."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from common.webapp import service_app
from streaming import routes
from streaming.settings import StreamingSettings
from streaming.state import StreamingState

TITLE = "VideoForge streaming"
DESCRIPTION = ("Read-only playback: qualities, presigned URLs per quality, poster and "
               "preview images, and HLS playlists that play from a private bucket.")


def create_app(settings: StreamingSettings | None = None, *, mounted: bool = False) -> FastAPI:
    """``mounted``: inside the gateway's process, whose metrics listener serves these."""
    state = StreamingState(settings or StreamingSettings())
    app = service_app(service="streaming", state=state, title=TITLE, description=DESCRIPTION,
                      metrics_port=0 if mounted else state.settings.streaming_metrics_port,
                      mounted=mounted)
    app.include_router(routes.router)
    return app


def __getattr__(name: str) -> Any:
    # Built on first access, so importing this module reads no environment.
    if name == "app":
        globals()["app"] = built = create_app()
        return built
    raise AttributeError(name)
