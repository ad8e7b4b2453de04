"""Dependencies of the gallery routes (``Annotated`` aliases)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common.app_state import state_of
from common.client_ip import client_ip
from common.deps import BrokerDep, CurrentUser, OptionalUser, S3Dep, SessionDep
from gallery.settings import GallerySettings
from gallery.state import GalleryState
from gallery.views import ViewDeduper

__all__ = ["BrokerDep", "CurrentUser", "OptionalUser", "S3Dep", "SessionDep", "SettingsDep",
           "StateDep", "ViewsDep", "viewer_key"]


async def get_state(request: Request) -> GalleryState:
    return state_of(request, GalleryState)


async def get_settings(request: Request) -> GallerySettings:
    return state_of(request, GalleryState).settings


async def get_views(request: Request) -> ViewDeduper:
    return state_of(request, GalleryState).views


def viewer_key(request: Request, principal_id: str | None, settings: GallerySettings) -> str:
    """Who a view is counted for: the signed-in user, else the caller's address."""
    if principal_id:
        return f"user:{principal_id}"
    return f"ip:{client_ip(request, settings.trusted_proxies)}"


StateDep = Annotated[GalleryState, Depends(get_state)]
SettingsDep = Annotated[GallerySettings, Depends(get_settings)]
ViewsDep = Annotated[ViewDeduper, Depends(get_views)]
