"""Gateway fixtures: the moto Cognito pool's three users, the app over real parts."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from common.models import GalleryVideo, VideoStatus, Visibility
from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.api_support import ROLES, CognitoPool, cognito, insert_video, service_settings
from tests.conftest import free_port

__all__ = ["cognito"]


@dataclass
class User:
    username: str
    sub: str
    id_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.id_token}"}


@pytest.fixture
def users(cognito: CognitoPool) -> dict[str, User]:
    """owner, other, and admin (in the Cognito group ``admin``)."""
    return {name: User(name, cognito.subs[name], cognito.tokens[name]) for name in ROLES}


@pytest.fixture
def gateway_settings(aws_resources: Any, clean_database: str,
                     cognito: CognitoPool) -> GatewaySettings:
    """Settings over the real parts; limits high enough that only rate tests meet them."""
    return service_settings(
        GatewaySettings, resources=aws_resources, database_url=clean_database, pool=cognito,
        gateway_mode="off", redis_url=None, sse_poll_interval_s=0.05,
        **{f"rate_limit_{k}": "100000/1" for k in ("read", "write", "upload", "submit")},
    )


@pytest.fixture
def client(gateway_settings: GatewaySettings) -> Iterator[TestClient]:
    with TestClient(create_app(gateway_settings)) as c:
        yield c


VideoFactory = Callable[..., GalleryVideo]


@pytest.fixture
def make_video(gateway_settings: GatewaySettings) -> VideoFactory:
    """Insert a committed video row (as if uploaded and confirmed through the gallery)."""

    def make(owner: User, *, visibility: Visibility = Visibility.PRIVATE,
             status: VideoStatus = VideoStatus.UPLOADED) -> GalleryVideo:
        video_id = str(uuid.uuid4())
        return insert_video(
            gateway_settings.database_url, owner_id=owner.sub, id=video_id, title="clip",
            visibility=visibility, status=status, filename="clip.mp4",
            source_bucket=gateway_settings.uploads_bucket,
            source_key=f"uploads/{owner.sub}/{video_id}/clip.mp4", source_size=1000,
            duration_s=2.0,
        )

    return make


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
