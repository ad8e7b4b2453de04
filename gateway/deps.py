"""Dependencies of the gateway routes (``Annotated`` aliases). Sessions, the caller's
identity and the job queue are the shared ones (common/deps.py): one rule for every
service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common.app_state import state_of
from common.client_ip import client_ip
from common.deps import BrokerDep, CurrentUser, OptionalUser, RouteSessionDep, SessionDep
from gateway.settings import GatewaySettings
from gateway.state import GatewayState

__all__ = ["BrokerDep", "ClientIp", "CurrentUser", "OptionalUser", "RouteSessionDep",
           "SessionDep", "SettingsDep", "StateDep"]


async def get_state(request: Request) -> GatewayState:
    return state_of(request, GatewayState)


async def get_settings(request: Request) -> GatewaySettings:
    return state_of(request, GatewayState).settings


async def get_client_ip(request: Request) -> str:
    return client_ip(request, state_of(request, GatewayState).settings.trusted_proxies)


StateDep = Annotated[GatewayState, Depends(get_state)]
SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
ClientIp = Annotated[str, Depends(get_client_ip)]
