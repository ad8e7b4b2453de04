"""What every request of an HTTP service shares, built once per app.

:class:`ServiceState` is the one shape of app state: the service's settings, a session
factory, an S3 client, the token verifier and the (lazy) job queue. A service that holds
more subclasses it (``GalleryState``, ``StreamingState``, ``GatewayState``); the shared
app factory (:func:`common.webapp.service_app`) puts it on ``app.state.service`` and the
dependencies read it back typed (:func:`state_of`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from common import aws
from common.auth import CognitoVerifier
from common.broker import Broker, SqsBroker
from common.db import read_engine_for, read_session_factory, session_factory
from common.errors import Unavailable
from common.logging import get_logger
from common.messages import WakeUp
from common.settings import CommonSettings

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

SettingsT = TypeVar("SettingsT", bound=CommonSettings)
StateT = TypeVar("StateT", bound="ServiceState[Any]")
T = TypeVar("T")

log = get_logger(__name__)
QUEUE_UNAVAILABLE = "the job queue is unavailable; nothing was queued"


class LazyBroker:
    """The job queue, looked up on first send, so a service starts (and answers
    everything but submissions) while SQS is down. A failed lookup is not remembered:
    the next send tries again. Any queue failure is :class:`Unavailable` (HTTP 503)."""

    def __init__(self, settings: CommonSettings, broker: Broker | None = None) -> None:
        self._settings = settings
        self._broker = broker
        self._lock = threading.Lock()

    def _resolve(self) -> Broker:
        with self._lock:
            if self._broker is None:
                sqs = aws.client("sqs", self._settings)
                self._broker = SqsBroker.from_name(sqs, self._settings.jobs_queue_name)
            return self._broker

    def send(self, message: WakeUp, *, delay_s: int = 0) -> str:
        try:
            return self._resolve().send(message, delay_s=delay_s)
        except (BotoCoreError, ClientError) as exc:
            log.warning("job_enqueue_failed", error_type=type(exc).__name__)
            raise Unavailable(QUEUE_UNAVAILABLE, code="queue_unavailable") from exc


def verifier_from_settings(settings: CommonSettings) -> CognitoVerifier | None:
    if not (settings.cognito_user_pool_id and settings.cognito_client_id):
        return None
    return CognitoVerifier(
        region=settings.aws_region,
        user_pool_id=settings.cognito_user_pool_id,
        client_id=settings.cognito_client_id,
        endpoint_url=aws.endpoint_url("cognito-idp", settings),
    )


class SessionBudget:
    """At most ``size`` database sessions open at once in this process, for requests and
    event streams alike, held while waiting on the event loop (no thread).

    A session keeps its connection until it closes. If every thread-pool thread waited for
    a pooled connection, nothing could finish and give one back (a deadlock under load),
    so sessions are rationed below the pool size. One semaphore per event loop: an
    asyncio primitive belongs to the loop it is first used in.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                    asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.size)
        return semaphore

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        async with self._semaphore():
            yield

    @functools.cached_property
    def _threads(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="session")

    async def run(self, work: Callable[..., T], /, *args: Any) -> T:
        """``work(*args)`` on a thread of the budget's own, holding a place in it until
        ``work`` returns, even when the caller is cancelled meanwhile (the thread may hold
        a session until then). One hop to a plain executor, cheaper per request than
        AnyIO's thread pool; the context (log bindings) goes along."""
        semaphore = self._semaphore()
        await semaphore.acquire()
        try:
            call = functools.partial(contextvars.copy_context().run, work, *args)
            future = asyncio.get_running_loop().run_in_executor(self._threads, call)
        except BaseException:
            semaphore.release()
            raise
        future.add_done_callback(lambda _: semaphore.release())
        return await asyncio.shield(future)


class ServiceState(Generic[SettingsT]):
    def __init__(self, settings: SettingsT, *, broker: Broker | None = None) -> None:
        self.settings: SettingsT = settings
        self.sessions: sessionmaker[Session] = session_factory(settings.database_url)
        self.read_sessions: sessionmaker[Session] = read_session_factory(settings.database_url)
        self.read_engine: Engine = read_engine_for(settings.database_url)
        self.session_budget = SessionBudget(settings.db_session_budget)
        self.s3: S3Client = aws.client("s3", settings)
        self.verifier: CognitoVerifier | None = verifier_from_settings(settings)
        self.broker = LazyBroker(settings, broker)


def state_of(conn: HTTPConnection, kind: type[StateT]) -> StateT:
    """The app's state, as the service's own state class."""
    state = conn.app.state.service
    if not isinstance(state, kind):  # a wiring mistake, never a caller's
        raise TypeError(f"app state is {type(state).__name__}, not {kind.__name__}")
    return state
