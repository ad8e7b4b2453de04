"""The gateway's app state: the shared one (common/app_state.py) plus the rate limiter,
the sign-in throttle and the Cognito client."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from common import aws
from common.app_state import ServiceState
from common.broker import Broker
from gateway.rate_limit import Limiter, make_limiter
from gateway.settings import GatewaySettings
from gateway.sign_in_throttle import make_throttle
from gateway.stream_slots import StreamSlots


class GatewayState(ServiceState[GatewaySettings]):
    def __init__(self, settings: GatewaySettings, *, broker: Broker | None = None) -> None:
        super().__init__(settings, broker=broker)
        self.limiter: Limiter = make_limiter(settings.redis_url)
        self.sign_ins = make_throttle(settings.redis_url,
                                      prefix=f"{settings.rate_limit_prefix}signin:")
        self.streams = StreamSlots(per_user=settings.sse_max_streams_per_user,
                                   per_process=settings.sse_max_streams)

    # Built on first use so that the gateway starts even while Cognito is not up.
    @cached_property
    def cognito(self) -> Any:
        return aws.client("cognito-idp", self.settings)
