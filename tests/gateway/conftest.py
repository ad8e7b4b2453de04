"""Gateway fixtures: the moto Cognito pool's three users, the app over real parts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.models import GalleryVideo, VideoStatus, Visibility
from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.support.cognito import ROLES, CognitoPool, User
from tests.support.service_settings import service_settings
from tests.support.videos import insert_video


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
