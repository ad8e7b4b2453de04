"""A moto Cognito user pool with the users owner, other and admin (in group ``admin``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import jwt

from common import aws
from common.settings import CommonSettings

PASSWORD = "Secret-pass1!"
ROLES = ("owner", "other", "admin")


@dataclass
class CognitoPool:
    pool_id: str
    client_id: str
    tokens: dict[str, str] = field(default_factory=dict)  # username -> ID token
    subs: dict[str, str] = field(default_factory=dict)    # username -> sub (owner id)

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}


@dataclass
class User:
    username: str
    sub: str
    id_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.id_token}"}


def create_pool(endpoint: str) -> CognitoPool:
    """A user pool with users owner, other and admin (in group ``admin``)."""
    idp = aws.client("cognito-idp", CommonSettings(aws_endpoint_url=endpoint))
    pool_id = idp.create_user_pool(PoolName=f"vf-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool_id, GroupName="admin")
    pool = CognitoPool(pool_id, client_id)
    for name in ROLES:
        idp.admin_create_user(UserPoolId=pool_id, Username=name, TemporaryPassword="Tmp-pass1!")
        idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=PASSWORD,
                                    Permanent=True)
        if name == "admin":
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName="admin")
        token = idp.initiate_auth(
            ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]["IdToken"]
        pool.tokens[name] = token
        pool.subs[name] = jwt.decode(token, options={"verify_signature": False})["sub"]
    return pool
