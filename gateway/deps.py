"""Request dependencies of the gateway routes, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from common.auth import AuthError, Principal
from common.broker import Broker
from gateway.context import GatewayContext
from gateway.errors import ApiError
from gateway.settings import GatewaySettings

_BEARER = "bearer "
# Declares the bearer scheme in the OpenAPI document; the token is read by authenticate().
_bearer_scheme = HTTPBearer(auto_error=False, description="A Cognito ID or access token.")
BearerDoc = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]


def context_of(request: Request) -> GatewayContext:
    ctx: GatewayContext = request.app.state.ctx
    return ctx


def bearer_token(headers: MutableMapping[str, Any] | Any) -> str | None:
    value = headers.get("authorization") or ""
    if value[: len(_BEARER)].lower() != _BEARER:
        return None
    return value[len(_BEARER):].strip() or None


def authenticate(ctx: GatewayContext, request: Request) -> Principal | None:
    """The caller's identity (None when anonymous); raises AuthError for a bad token.

    The outcome is kept on the request, so the rate limiter and the route verify a token
    once between them."""
    state = request.state
    if not hasattr(state, "auth"):
        token = bearer_token(request.headers)
        if token is None:
            state.auth = None
        elif ctx.verifier is None:
            state.auth = AuthError("sign-in is not configured on this server")
        else:
            try:
                state.auth = ctx.verifier.verify(token)
            except AuthError as exc:
                state.auth = exc
    if isinstance(state.auth, AuthError):
        raise state.auth
    result: Principal | None = state.auth
    return result


def _unauthorized(message: str, *, invalid: bool) -> ApiError:
    challenge = 'Bearer realm="videoforge"'
    if invalid:
        challenge += ', error="invalid_token"'
    return ApiError(401, message, headers={"WWW-Authenticate": challenge})


def current_user(request: Request, _: BearerDoc) -> Principal:
    try:
        principal = authenticate(context_of(request), request)
    except AuthError as exc:
        raise _unauthorized(str(exc), invalid=True) from None
    if principal is None:
        raise _unauthorized("sign in: send Authorization: Bearer <token>", invalid=False)
    return principal


def optional_user(request: Request, _: BearerDoc) -> Principal | None:
    try:
        return authenticate(context_of(request), request)
    except AuthError as exc:
        # A bad token is an error even where a missing one is fine: silently treating
        # the caller as anonymous would hide an expired session.
        raise _unauthorized(str(exc), invalid=True) from None


def session(request: Request) -> Iterator[Session]:
    with context_of(request).sessions() as s:
        yield s


def settings(request: Request) -> GatewaySettings:
    return context_of(request).settings


def broker(request: Request) -> Broker:
    try:
        return context_of(request).broker
    except Exception as exc:
        raise ApiError(503, "the job queue is unavailable; try again shortly") from exc


ContextDep = Annotated[GatewayContext, Depends(context_of)]
SettingsDep = Annotated[GatewaySettings, Depends(settings)]
SessionDep = Annotated[Session, Depends(session)]
BrokerDep = Annotated[Broker, Depends(broker)]
CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]
