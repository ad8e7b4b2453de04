"""FastAPI dependencies shared by the HTTP services (gallery, streaming, gateway).

They read the app's :class:`common.app_state.ServiceState` (settings, sessions, S3, the
token verifier, the lazy job queue). Each service's ``deps.py`` re-exports the
``Annotated`` aliases it uses and adds its own.

Cheap dependencies are ``async`` so they run on the event loop: each sync dependency
costs a thread-pool round trip per request.

Auth: ``Authorization: Bearer <Cognito id or access token>``. A missing header is an
anonymous caller (``OptionalUser`` is ``None``); a present but bad token is always 401,
so a typo never silently downgrades someone to anonymous. Tokens are never logged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from common.app_state import LazyBroker, ServiceState, state_of
from common.auth import AuthError, Principal
from common.http import ApiError

T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="Cognito ID or access token")


def _state(request: Request) -> ServiceState[Any]:
    return state_of(request, ServiceState)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request, closed on the event loop after the response, within the
    process's session budget (:class:`common.app_state.SessionBudget`): a request waits
    for its session on the event loop, holding no thread."""
    state = _state(request)
    async with state.session_budget.held():
        session = state.sessions()
        try:
            yield session
        finally:
            session.close()


def _read_with(factory: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with factory() as session:
        return work(session)


def _query_with(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.connect() as connection:
        return work(connection)


async def run_query(request: Request, work: Callable[[Connection], T]) -> T:
    """:func:`run_read` for reads made of Core queries: ``work(connection)`` with a
    connection of the read-only engine, without a session's bookkeeping around it (a
    sizeable share of the hottest reads' CPU)."""
    state = _state(request)
    return await state.session_budget.run(_query_with, state.read_engine, work)


async def run_read(request: Request, work: Callable[[Session], T]) -> T:
    """``work(session)`` for a read-only route (``async def``, so that FastAPI adds no
    thread hops of its own around it): one hop to the session budget's threads
    (:meth:`common.app_state.SessionBudget.run`) for all its blocking work, with a
    read-only session (:func:`common.db.read_session_factory`) opened and closed there.
    Cheaper than ``SessionDep`` in a sync route, which costs a hop for the route, one for
    the response and two round trips."""
    state = _state(request)
    return await state.session_budget.run(_read_with, state.read_sessions, work)


async def get_s3(request: Request) -> S3Client:
    return _state(request).s3


async def get_broker(request: Request) -> LazyBroker:
    """The job queue; nothing is looked up until a submission sends."""
    return _state(request).broker


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
    verifier = _state(request).verifier
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


SessionDep = Annotated[Session, Depends(get_session)]
# For a streamed response: the session (and its place in the budget) is given back when
# the route function returns, not when the stream ends (which may be an hour later).
RouteSessionDep = Annotated[Session, Depends(get_session, scope="function")]
if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

    S3Dep = Annotated[S3Client, Depends(get_s3)]
else:  # FastAPI reads the alias at run time, where the stubs (dev only) may be absent.
    S3Dep = Annotated[Any, Depends(get_s3)]
BrokerDep = Annotated[LazyBroker, Depends(get_broker)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]
CurrentUser = Annotated[Principal, Depends(current_user)]
