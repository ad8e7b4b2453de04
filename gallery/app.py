"""The gallery ASGI app: ``uvicorn gallery.app:app`` (or ``create_app(settings)``)."""

from __future__ import annotations

from fastapi import FastAPI

from common.webapp import service_app
from gallery.routes import uploads, videos
from gallery.settings import GallerySettings
from gallery.views import MemoryViewDeduper, RedisViewDeduper, ViewDeduper


def _view_deduper(settings: GallerySettings) -> ViewDeduper:
    if settings.redis_url:
        return RedisViewDeduper.from_url(settings.redis_url, prefix=settings.view_key_prefix)
    return MemoryViewDeduper()


def create_app(settings: GallerySettings | None = None) -> FastAPI:
    settings = settings or GallerySettings()
    app = service_app(
        service="gallery", settings=settings, title="VideoForge gallery",
        description="Browse and search videos, manage their metadata, and upload new ones "
                    "straight to S3 with presigned URLs.")
    app.state.views = _view_deduper(settings)
    app.include_router(videos.router)
    app.include_router(uploads.router)
    return app


app = create_app()
