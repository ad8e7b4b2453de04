"""What a gateway process holds beyond the shared ``app.state`` (settings, sessions,
verifier: see common/deps.py): the rate limiter, the job queue and the Cognito client."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from common import aws
from common.auth import CognitoVerifier
from common.broker import Broker, SqsBroker
from gateway.rate_limit import Limiter, make_limiter
from gateway.settings import GatewaySettings


class GatewayContext:
    def __init__(self, settings: GatewaySettings, *, sessions: sessionmaker[Session],
                 verifier: CognitoVerifier | None, broker: Broker | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.verifier = verifier
        self.limiter: Limiter = make_limiter(settings.redis_url)
        if broker is not None:
            self.__dict__["broker"] = broker

    # Built on first use so that the gateway starts even while SQS or Cognito is not up;
    # a failed build is not cached and is tried again by the next request.
    @cached_property
    def broker(self) -> Broker:
        sqs = aws.client("sqs", self.settings)
        return SqsBroker.from_name(sqs, self.settings.jobs_queue_name)

    @cached_property
    def cognito(self) -> Any:
        return aws.client("cognito-idp", self.settings)
