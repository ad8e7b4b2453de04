"""FastAPI dependencies shared by the HTTP services (gallery, streaming, gateway).

:func:`init_state` puts what every request needs on ``app.state`` once (settings, a
session factory, an S3 client, the token verifier); the dependencies below read it.
Each service's ``deps.py`` re-exports the ``Annotated`` aliases it uses.

Cheap dependencies are ``async`` so they run on the event loop: each sync dependency
costs a thread-pool round trip per request.

Auth: ``Authorization: Bearer <Cognito id or access token>``. A missing header is an
anonymous caller (``OptionalUser`` is ``None``); a present but bad token is always 401,
so a typo never silently downgrades someone to anonymous. Tokens are never logged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from common import aws
from common.auth import AuthError, CognitoVerifier, Principal
from common.db import session_factory
from common.http import ApiError
from common.settings import CommonSettings

_bearer = HTTPBearer(auto_error=False, description="Cognito ID or access token")


def verifier_from_settings(settings: CommonSettings) -> CognitoVerifier | None:
    if not (settings.cognito_user_pool_id and settings.cognito_client_id):
        return None
    return CognitoVerifier(
        region=settings.aws_region,
        user_pool_id=settings.cognito_user_pool_id,
        client_id=settings.cognito_client_id,
        endpoint_url=aws.endpoint_url("cognito-idp", settings),
    )


def init_state(app: FastAPI, settings: CommonSettings) -> None:
    app.state.settings = settings
    app.state.sessions = session_factory(settings.database_url)
    app.state.s3 = aws.client("s3", settings)
    app.state.verifier = verifier_from_settings(settings)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request, closed on the event loop after the response.

    A session keeps its connection until this cleanup, which comes after FastAPI has
    validated the response, which for a sync endpoint needs a thread-pool thread. If
    every thread waited for a pooled connection, nothing could finish and give one back
    (a deadlock under load). So sessions are rationed below the pool size
    (``SESSION_CONCURRENCY``): a request waits for its session on the event loop, holding
    no thread, and every request that holds one can finish.
    """
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        session.close()


async def get_s3(request: Request) -> Any:
    return request.app.state.s3


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


async def optional_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    if request.headers.get("authorization") is None:
        return None
    if credentials is None:
        raise _unauthorized("Authorization must be 'Bearer <token>'")
    verifier: CognitoVerifier | None = request.app.state.verifier
    if verifier is None:
        raise _unauthorized("token authentication is not configured on this service")
    token = credentials.credentials
    if (principal := verifier.cached(token)) is not None:
        return principal  # the usual case: a token seen before, checked on the loop
    try:
        # New token: RSA, and perhaps a blocking fetch of the key set, off the loop.
        return await run_in_threadpool(verifier.verify, token)
    except AuthError as exc:
        raise _unauthorized(str(exc)) from None


async def current_user(principal: Annotated[Principal | None, Depends(optional_user)]) -> Principal:
    if principal is None:
        raise _unauthorized("sign in required")
    return principal


# Below the engine's pool (SQLAlchemy QueuePool default: 5 + 10 overflow) per process.
SESSION_CONCURRENCY = 10
# One Depends object, so the limit is shared by every route that uses the alias.
SessionDep = Annotated[Session, Depends(get_session, max_concurrency=SESSION_CONCURRENCY)]
S3Dep = Annotated[Any, Depends(get_s3)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]
CurrentUser = Annotated[Principal, Depends(current_user)]
