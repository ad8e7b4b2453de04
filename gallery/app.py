"""The gallery ASGI app: ``create_app(settings)``; ``uvicorn gallery.app:app`` builds one
from the environment on first access."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from common.broker import Broker
from common.webapp import service_app
from gallery.routes import uploads, videos
from gallery.settings import GallerySettings
from gallery.state import GalleryState

TITLE = "VideoForge gallery"
DESCRIPTION = ("Browse and search videos, manage their metadata, and upload new ones "
               "straight to S3 with presigned URLs.")


def create_app(settings: GallerySettings | None = None, *, broker: Broker | None = None,
               mounted: bool = False) -> FastAPI:
    """``mounted``: inside the gateway's process, whose metrics listener serves these."""
    state = GalleryState(settings or GallerySettings(), broker=broker)
    app = service_app(service="gallery", state=state, title=TITLE, description=DESCRIPTION,
                      metrics_port=0 if mounted else state.settings.gallery_metrics_port,
                      mounted=mounted)
    app.include_router(videos.router)
    app.include_router(uploads.router)
    return app


def __getattr__(name: str) -> Any:
    # Built on first access, so importing this module reads no environment.
    if name == "app":
        globals()["app"] = built = create_app()
        return built
    raise AttributeError(name)
