"""Dependencies of the gallery routes (``Annotated`` aliases)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Depends, Request

from common import aws
from common.broker import Broker, SqsBroker
from common.deps import CurrentUser, OptionalUser, S3Dep, SessionDep
from gallery.settings import GallerySettings
from gallery.views import ViewDeduper

__all__ = ["BrokerDep", "CurrentUser", "OptionalUser", "S3Dep", "SessionDep", "SettingsDep",
           "ViewsDep", "viewer_key"]


async def get_settings(request: Request) -> GallerySettings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_views(request: Request) -> ViewDeduper:
    return request.app.state.views  # type: ignore[no-any-return]


async def get_broker(request: Request) -> Callable[[], Broker | None]:
    """The job queue, looked up on first use (only ``confirm`` with ``process`` needs it)."""
    state = request.app.state

    def broker() -> Broker | None:
        if getattr(state, "broker", None) is None:
            settings: GallerySettings = state.settings
            try:
                state.broker = SqsBroker.from_name(aws.client("sqs", settings),
                                                   settings.jobs_queue_name)
            except (BotoCoreError, ClientError):  # confirm answers 503
                return None
        return state.broker  # type: ignore[no-any-return]

    return broker


def viewer_key(request: Request, principal_id: str | None, settings: GallerySettings) -> str:
    if principal_id:
        return f"user:{principal_id}"
    forwarded = request.headers.get("x-forwarded-for") if settings.trust_forwarded_for else None
    if forwarded:
        return f"ip:{forwarded.split(',')[0].strip()}"
    return f"ip:{request.client.host if request.client else 'unknown'}"


SettingsDep = Annotated[GallerySettings, Depends(get_settings)]
ViewsDep = Annotated[ViewDeduper, Depends(get_views)]
BrokerDep = Annotated[Callable[[], Broker | None], Depends(get_broker)]
