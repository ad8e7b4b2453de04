"""The queue interface behaves the same over real SQS (moto) and in memory."""

from __future__ import annotations

import pytest

from common import aws
from common.broker import Broker, InMemoryBroker, SqsBroker
from common.messages import WakeUp
from common.settings import CommonSettings

MSG = WakeUp(reason="submitted")


@pytest.fixture(params=["sqs", "memory"])
def broker(request, moto_endpoint) -> Broker:
    if request.param == "memory":
        return InMemoryBroker(visibility_timeout_s=30, max_receives=3)
    from tests.support.aws_resources import create_aws_resources

    res = create_aws_resources(moto_endpoint, max_receive_count=3)
    sqs = aws.client("sqs", CommonSettings(aws_endpoint_url=moto_endpoint))
    return SqsBroker(sqs, queue_url=res.queue_url)


def test_send_receive_delete(broker: Broker) -> None:
    broker.send(MSG)
    delivery = broker.receive(wait_s=1)
    assert delivery is not None and delivery.token() == MSG and delivery.receive_count == 1
    assert broker.receive(wait_s=0) is None  # invisible while held
    assert broker.counts().in_flight == 1
    broker.delete(delivery)
    assert broker.counts().visible == 0 and broker.counts().in_flight == 0


def test_release_makes_message_visible_again(broker: Broker) -> None:
    broker.send(MSG)
    first = broker.receive(wait_s=1)
    assert first is not None
    broker.release(first)
    second = broker.receive(wait_s=1)
    assert second is not None and second.receive_count == 2


def test_max_receive_count_comes_from_redrive_policy(broker: Broker) -> None:
    assert broker.max_receive_count() == 3
