"""``/api/auth/login`` and ``/api/auth/refresh``: Cognito sign-in without a hosted UI.

The gateway passes the credentials to Cognito (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH)
and returns the tokens. Passwords and tokens are never logged: the request body is only
ever handed to Cognito.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter
from pydantic import BaseModel, Field

from common.http import ApiError, error_responses
from common.logging import get_logger
from gateway.deps import ClientIp, StateDep
from gateway.sign_in_throttle import retry_after_header
from gateway.state import GatewayState

log = get_logger(__name__)
router = APIRouter(prefix="/api/auth", tags=["auth"])

# Cognito's own limits on a username and a password (CreateUserPool/SignUp API reference).
_MAX_USERNAME = 128
_MAX_PASSWORD = 256
_MAX_TOKEN = 16_384


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=_MAX_USERNAME)
    password: str = Field(min_length=1, max_length=_MAX_PASSWORD)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=_MAX_TOKEN)
    # Needed only when the app client has a secret (it enters the SECRET_HASH).
    username: str | None = Field(default=None, min_length=1, max_length=_MAX_USERNAME)


class TokenPublic(BaseModel):
    id_token: str
    access_token: str
    refresh_token: str | None = None
    expires_in: int
    token_type: str = "Bearer"


# Cognito error code -> (HTTP status, message shown). Wrong user and wrong password read
# the same, so the answer does not tell which usernames exist.
_COGNITO_ERRORS = {
    "NotAuthorizedException": (401, "incorrect username or password"),
    "UserNotFoundException": (401, "incorrect username or password"),
    "UserNotConfirmedException": (403, "the account is not confirmed yet"),
    "PasswordResetRequiredException": (403, "the password must be reset first"),
    "TooManyRequestsException": (429, "too many sign-in attempts; try again later"),
    "TooManyFailedAttemptsException": (429, "too many sign-in attempts; try again later"),
    "InvalidParameterException": (400, "the sign-in request was rejected"),
}


def _secret_hash(secret: str, username: str, client_id: str) -> str:
    digest = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _initiate(ctx: GatewayState, flow: str, params: dict[str, str], username: str | None) -> Any:
    settings = ctx.settings
    if not settings.cognito_client_id:
        raise ApiError(503, "sign-in is not configured on this server")
    if settings.cognito_client_secret is not None:
        if username is None:
            raise ApiError(422, "username is required to refresh with this app client")
        params["SECRET_HASH"] = _secret_hash(
            settings.cognito_client_secret.get_secret_value(), username,
            settings.cognito_client_id,
        )
    try:
        response = ctx.cognito.initiate_auth(
            ClientId=settings.cognito_client_id, AuthFlow=flow, AuthParameters=params
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status, message = _COGNITO_ERRORS.get(code, (502, "the identity provider failed"))
        log.info("auth_rejected", flow=flow, cognito_code=code)
        raise ApiError(status, message) from None
    except BotoCoreError as exc:
        log.warning("auth_unavailable", flow=flow, error_type=type(exc).__name__)
        raise ApiError(503, "the identity provider is unreachable") from None
    result = response.get("AuthenticationResult")
    if not result:
        # A challenge (e.g. NEW_PASSWORD_REQUIRED) needs a flow this API does not offer.
        challenge = response.get("ChallengeName", "unknown")
        raise ApiError(403, f"sign-in needs the {challenge} challenge; complete it first",
                       code="challenge_required")
    return result


_ERRORS = error_responses(400, 401, 403, 422, 429, 503)


@router.post("/login", response_model=TokenPublic, responses=_ERRORS)
def login(body: LoginRequest, ctx: StateDep, ip: ClientIp) -> TokenPublic:
    """Exchange a username and password for Cognito ID, access and refresh tokens.
    Failed attempts slow further ones at the same account (429 with Retry-After)."""
    if (wait := ctx.sign_ins.wait_s(body.username, ip)) > 0:
        raise ApiError(429, "too many failed sign-ins for this account; retry after "
                            f"{retry_after_header(wait)} s", code="sign_in_delayed",
                       headers={"Retry-After": retry_after_header(wait)})
    try:
        result = _initiate(ctx, "USER_PASSWORD_AUTH",
                           {"USERNAME": body.username, "PASSWORD": body.password},
                           body.username)
    except ApiError as exc:
        if exc.status_code == 401:
            ctx.sign_ins.failed(body.username, ip)
        raise
    ctx.sign_ins.succeeded(body.username, ip)
    return TokenPublic(
        id_token=result["IdToken"],
        access_token=result["AccessToken"],
        refresh_token=result.get("RefreshToken"),
        expires_in=int(result.get("ExpiresIn", 3600)),
    )


@router.post("/refresh", response_model=TokenPublic, responses=_ERRORS)
def refresh(body: RefreshRequest, ctx: StateDep) -> TokenPublic:
    """Exchange a refresh token for fresh ID and access tokens."""
    result = _initiate(ctx, "REFRESH_TOKEN_AUTH",
                       {"REFRESH_TOKEN": body.refresh_token}, body.username)
    return TokenPublic(
        id_token=result["IdToken"],
        access_token=result["AccessToken"],
        refresh_token=result.get("RefreshToken") or body.refresh_token,
        expires_in=int(result.get("ExpiresIn", 3600)),
    )
