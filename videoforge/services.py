"""The platform's HTTP services, by name: each one's settings class and app factory.

This is where the services meet, so that none of them imports another: the gateway is
handed the gallery and streaming apps to mount (``VF_GATEWAY_MODE=mount``), built here
with the gateway's shared settings (database, buckets, queue, user pool) and its queue.
``videoforge serve`` runs these factories under uvicorn. Importing this module builds
nothing and reads no environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

import gallery.app
import gateway.app
import streaming.app
from common.broker import Broker
from common.settings import CommonSettings
from gallery.settings import GallerySettings
from gateway.settings import GatewaySettings
from streaming.settings import StreamingSettings


def _gallery(settings: GallerySettings, broker: Broker | None, mounted: bool) -> FastAPI:
    return gallery.app.create_app(settings, broker=broker, mounted=mounted)


def _streaming(settings: StreamingSettings, _: Broker | None, mounted: bool) -> FastAPI:
    return streaming.app.create_app(settings, mounted=mounted)


def _gateway(settings: GatewaySettings, broker: Broker | None, _: bool) -> FastAPI:
    mounts = ({name: build(name, settings, broker=broker, mounted=True) for name in MOUNTED}
              if settings.gateway_mode == "mount" else None)
    return gateway.app.create_app(settings, broker=broker, mounts=mounts)


@dataclass(frozen=True)
class Service:
    settings: type[CommonSettings]
    # (its settings, the queue to use or None for SQS, mounted in another service's process)
    factory: Callable[[Any, Broker | None, bool], FastAPI]


SERVICES: dict[str, Service] = {
    "gateway": Service(GatewaySettings, _gateway),
    "gallery": Service(GallerySettings, _gallery),
    "streaming": Service(StreamingSettings, _streaming),
}
# What the gateway mounts in-process.
MOUNTED = ("gallery", "streaming")


def settings_for(name: str, shared: CommonSettings | None = None) -> CommonSettings:
    """Service ``name``'s settings: ``shared`` itself when it is already of that class;
    else the service's own fields from the environment and the fields every service
    shares from ``shared``, so that all of them talk to the same parts."""
    cls = SERVICES[name].settings
    if shared is None:
        return cls()
    if isinstance(shared, cls):
        return shared
    return cls(**{field: getattr(shared, field) for field in CommonSettings.model_fields})


def build(name: str, settings: CommonSettings | None = None, *,
          broker: Broker | None = None, mounted: bool = False) -> FastAPI:
    """Service ``name``'s app; ``settings`` None reads the environment."""
    return SERVICES[name].factory(settings_for(name, settings), broker, mounted)


# uvicorn factories: ``uvicorn --factory videoforge.services:gateway_app``.
def gateway_app() -> FastAPI:
    return build("gateway")


def gallery_app() -> FastAPI:
    return build("gallery")


def streaming_app() -> FastAPI:
    return build("streaming")
