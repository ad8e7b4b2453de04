"""Dependencies of the gateway routes (``Annotated`` aliases). Sessions, the caller's
identity and the job queue are the shared ones (common/deps.py): one rule for every
service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common.app_state import state_of
from common.deps import BrokerDep, CurrentUser, OptionalUser, SessionDep
from gateway.settings import GatewaySettings
from gateway.state import GatewayState

__all__ = ["BrokerDep", "CurrentUser", "OptionalUser", "SessionDep", "SettingsDep",
           "StateDep"]


async def get_state(request: Request) -> GatewayState:
    return state_of(request, GatewayState)


async def get_settings(request: Request) -> GatewaySettings:
    return state_of(request, GatewayState).settings


StateDep = Annotated[GatewayState, Depends(get_state)]
SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
