"""Dependencies of the gateway routes (``Annotated`` aliases). Sessions and the caller's
identity are the shared ones (common/deps.py): one rule for every service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common.broker import Broker
from common.deps import CurrentUser, OptionalUser, SessionDep
from common.http import ApiError
from gateway.context import GatewayContext
from gateway.settings import GatewaySettings

__all__ = ["BrokerDep", "ContextDep", "CurrentUser", "OptionalUser", "SessionDep",
           "SettingsDep"]


def context_of(request: Request) -> GatewayContext:
    ctx: GatewayContext = request.app.state.ctx
    return ctx


def settings(request: Request) -> GatewaySettings:
    return context_of(request).settings


def broker(request: Request) -> Broker:
    try:
        return context_of(request).broker
    except Exception as exc:
        raise ApiError(503, "the job queue is unavailable; try again shortly") from exc


ContextDep = Annotated[GatewayContext, Depends(context_of)]
SettingsDep = Annotated[GatewaySettings, Depends(settings)]
BrokerDep = Annotated[Broker, Depends(broker)]
