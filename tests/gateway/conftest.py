"""Gateway fixtures: a moto Cognito pool with three users, the app over real parts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from common import aws
from common.db import session_factory
from common.models import GalleryVideo, VideoStatus, Visibility
from common.settings import CommonSettings
from gateway.app import create_app
from gateway.settings import GatewaySettings

PASSWORD = "Secret-pass1!"
USERS = ("owner", "other", "admin")


@dataclass
class User:
    username: str
    sub: str
    id_token: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.id_token}"}


@dataclass
class CognitoPool:
    pool_id: str
    client_id: str
    users: dict[str, User]


def sign_in(idp: Any, client_id: str, username: str) -> User:
    tokens = idp.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    sub = jwt.decode(tokens["IdToken"], options={"verify_signature": False})["sub"]
    return User(username, sub, tokens["IdToken"], tokens["AccessToken"], tokens["RefreshToken"])


@pytest.fixture(scope="session")
def cognito(moto_endpoint: str) -> CognitoPool:
    idp = aws.client("cognito-idp", CommonSettings(aws_endpoint_url=moto_endpoint))
    pool_id = idp.create_user_pool(PoolName=f"vf-gw-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool_id, GroupName="admin")
    users = {}
    for name in USERS:
        idp.admin_create_user(UserPoolId=pool_id, Username=name, TemporaryPassword="Tmp-pass1!")
        idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=PASSWORD,
                                    Permanent=True)
        if name == "admin":
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName="admin")
        users[name] = sign_in(idp, client_id, name)
    return CognitoPool(pool_id, client_id, users)


@pytest.fixture
def users(cognito: CognitoPool) -> dict[str, User]:
    return cognito.users


@pytest.fixture
def gateway_settings(settings_env: dict[str, str], clean_database: str,
                     cognito: CognitoPool) -> GatewaySettings:
    """Settings over the real parts; limits high enough that only rate tests meet them."""
    env = {k.removeprefix("VF_").lower(): v for k, v in settings_env.items()
           if k.startswith("VF_")}
    return GatewaySettings(
        **env,
        cognito_user_pool_id=cognito.pool_id,
        cognito_client_id=cognito.client_id,
        gateway_mode="off",
        redis_url=None,
        **{f"rate_limit_{k}": "100000/1" for k in ("read", "write", "upload", "submit")},
        sse_poll_interval_s=0.05,
    )


@pytest.fixture
def client(gateway_settings: GatewaySettings) -> Iterator[TestClient]:
    with TestClient(create_app(gateway_settings)) as c:
        yield c


VideoFactory = Callable[..., GalleryVideo]


@pytest.fixture
def make_video(gateway_settings: GatewaySettings) -> VideoFactory:
    """Insert a committed video row (as if uploaded and confirmed through the gallery)."""
    sessions = session_factory(gateway_settings.database_url)

    def make(owner: User, *, visibility: Visibility = Visibility.PRIVATE,
             status: VideoStatus = VideoStatus.UPLOADED) -> GalleryVideo:
        video_id = str(uuid.uuid4())
        with sessions() as s:
            video = GalleryVideo(
                id=video_id, owner_id=owner.sub, title="clip", visibility=visibility,
                status=status, filename="clip.mp4",
                source_bucket=gateway_settings.uploads_bucket,
                source_key=f"uploads/{owner.sub}/{video_id}/clip.mp4",
                source_size=1000, duration_s=2.0,
            )
            s.add(video)
            s.commit()
            return video

    return make
