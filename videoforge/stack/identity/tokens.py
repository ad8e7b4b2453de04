"""ID and access tokens with the claims Cognito puts in them (Cognito developer guide,
"Understanding user pool JSON web tokens"), signed RS256 with the provider's key."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from videoforge.stack.identity.keys import SigningKey
from videoforge.stack.identity.users import User

# Cognito's default ID/access token lifetime: one hour.
TOKEN_S = 3600
# The local pool's ids, shaped like Cognito's (region_id; a 26-character client id).
LOCAL_POOL_SUFFIX = "VideoForgeLocal"
LOCAL_CLIENT_ID = "videoforgelocalwebclient01"


@dataclass(frozen=True)
class Pool:
    region: str
    pool_id: str
    client_id: str

    @classmethod
    def local(cls, region: str) -> Pool:
        return cls(region, f"{region}_{LOCAL_POOL_SUFFIX}", LOCAL_CLIENT_ID)

    @property
    def issuer(self) -> str:
        # The issuer CognitoVerifier expects, whatever serves the keys.
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"


def issue(pool: Pool, key: SigningKey, user: User, *, now: float | None = None
          ) -> dict[str, Any]:
    """An AuthenticationResult without the refresh token."""
    now = int(time.time() if now is None else now)
    common = {"sub": user.sub, "iss": pool.issuer, "auth_time": now, "iat": now,
              "exp": now + TOKEN_S, "origin_jti": str(uuid.uuid4()),
              "event_id": str(uuid.uuid4())}
    if user.groups:
        common["cognito:groups"] = sorted(user.groups)
    id_claims = {**common, "jti": str(uuid.uuid4()), "token_use": "id", "aud": pool.client_id,
                 "cognito:username": user.username,
                 **{k: v for k, v in user.attributes.items() if k in ("email",)},
                 "email_verified": user.attributes.get("email_verified") == "true"}
    access_claims = {**common, "jti": str(uuid.uuid4()), "token_use": "access",
                     "client_id": pool.client_id, "username": user.username,
                     "scope": "aws.cognito.signin.user.admin"}
    headers = {"kid": key.kid}
    return {
        "IdToken": jwt.encode(id_claims, key.private, algorithm="RS256", headers=headers),
        "AccessToken": jwt.encode(access_claims, key.private, algorithm="RS256",
                                  headers=headers),
        "ExpiresIn": TOKEN_S,
        "TokenType": "Bearer",
    }
