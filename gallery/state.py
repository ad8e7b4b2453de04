"""The gallery's app state: the shared one plus the view de-duplicator."""

from __future__ import annotations

from common.app_state import ServiceState
from common.broker import Broker
from gallery.settings import GallerySettings
from gallery.views import MemoryViewDeduper, RedisViewDeduper, ViewDeduper


def _view_deduper(settings: GallerySettings) -> ViewDeduper:
    if settings.redis_url:
        return RedisViewDeduper.from_url(settings.redis_url, prefix=settings.view_key_prefix)
    return MemoryViewDeduper()


class GalleryState(ServiceState[GallerySettings]):
    def __init__(self, settings: GallerySettings, *, broker: Broker | None = None) -> None:
        super().__init__(settings, broker=broker)
        self.views = _view_deduper(settings)
