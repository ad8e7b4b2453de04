"""Dependencies of the streaming routes (``Annotated`` aliases)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common.app_state import state_of
from common.deps import OptionalUser, S3Dep, SessionDep
from streaming.grants import GrantSigner
from streaming.playback import PresignCache
from streaming.settings import StreamingSettings
from streaming.state import StreamingState
from streaming.text_cache import TextCache

__all__ = ["GrantsDep", "OptionalUser", "PresignerDep", "S3Dep", "SessionDep", "SettingsDep",
           "TextsDep", "base_url"]


async def get_settings(request: Request) -> StreamingSettings:
    return state_of(request, StreamingState).settings


async def get_presigner(request: Request) -> PresignCache:
    return state_of(request, StreamingState).presigner


async def get_texts(request: Request) -> TextCache:
    return state_of(request, StreamingState).texts


async def get_grants(request: Request) -> GrantSigner:
    return state_of(request, StreamingState).grants


def base_url(request: Request, settings: StreamingSettings) -> str:
    """Where clients reach this service: the configured public URL, else the request's."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return str(request.base_url).rstrip("/")


SettingsDep = Annotated[StreamingSettings, Depends(get_settings)]
GrantsDep = Annotated[GrantSigner, Depends(get_grants)]
PresignerDep = Annotated[PresignCache, Depends(get_presigner)]
TextsDep = Annotated[TextCache, Depends(get_texts)]
