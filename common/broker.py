"""The job queue: a narrow interface, with SQS and in-memory implementations.

The gateway sends; workers receive one message at a time, extend its visibility while
they work, and delete it when the job's outcome is recorded. Bodies are wake-up tokens,
:class:`common.messages.WakeUp` (what a token means: common/messages.py).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from common.messages import MAX_VISIBILITY_TIMEOUT_S, MAX_WAIT_TIME_S, WakeUp
from common.retry import transient_retry

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient


@dataclass(frozen=True)
class Delivery:
    body: str
    receipt_handle: str
    message_id: str
    receive_count: int          # 1 on first delivery; SQS ApproximateReceiveCount
    sent_at: datetime | None = None

    def token(self) -> WakeUp:
        """The wake-up token; raises MalformedMessage for a body that is not one."""
        return WakeUp.decode(self.body)


@dataclass(frozen=True)
class QueueCounts:
    visible: int
    in_flight: int
    delayed: int


class Broker(Protocol):
    def send(self, message: WakeUp, *, delay_s: int = 0) -> str: ...
    def receive(self, *, wait_s: int = MAX_WAIT_TIME_S) -> Delivery | None: ...
    def extend(self, delivery: Delivery, *, visibility_timeout_s: int) -> None: ...
    def release(self, delivery: Delivery) -> None: ...
    def delete(self, delivery: Delivery) -> None: ...
    def counts(self) -> QueueCounts: ...
    def max_receive_count(self) -> int | None: ...


class SqsBroker:
    def __init__(self, sqs: SQSClient, *, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    @classmethod
    def from_name(cls, sqs: SQSClient, queue_name: str) -> SqsBroker:
        return cls(sqs, queue_url=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"])

    @transient_retry()
    def send(self, message: WakeUp, *, delay_s: int = 0) -> str:
        response = self.sqs.send_message(
            QueueUrl=self.queue_url, MessageBody=message.encode(), DelaySeconds=delay_s
        )
        return str(response["MessageId"])

    @transient_retry()
    def receive(self, *, wait_s: int = MAX_WAIT_TIME_S) -> Delivery | None:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=min(wait_s, MAX_WAIT_TIME_S),
            MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
        )
        messages = response.get("Messages") or []
        if not messages:
            return None
        m = messages[0]
        attrs = m.get("Attributes", {})
        sent_ms = attrs.get("SentTimestamp")
        return Delivery(
            body=m["Body"],
            receipt_handle=m["ReceiptHandle"],
            message_id=m["MessageId"],
            receive_count=int(attrs.get("ApproximateReceiveCount", 1)),
            sent_at=datetime.fromtimestamp(int(sent_ms) / 1000, UTC) if sent_ms else None,
        )

    @transient_retry()
    def extend(self, delivery: Delivery, *, visibility_timeout_s: int) -> None:
        self.sqs.change_message_visibility(
            QueueUrl=self.queue_url,
            ReceiptHandle=delivery.receipt_handle,
            VisibilityTimeout=min(visibility_timeout_s, MAX_VISIBILITY_TIMEOUT_S),
        )

    def release(self, delivery: Delivery) -> None:
        """Make the message visible again at once, for another worker."""
        self.extend(delivery, visibility_timeout_s=0)

    @transient_retry()
    def delete(self, delivery: Delivery) -> None:
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=delivery.receipt_handle)

    @transient_retry()
    def counts(self) -> QueueCounts:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return QueueCounts(
            visible=int(attrs.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
            delayed=int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
        )

    @transient_retry()
    def max_receive_count(self) -> int | None:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"]
        )["Attributes"]
        policy = attrs.get("RedrivePolicy")
        return int(json.loads(policy)["maxReceiveCount"]) if policy else None


@dataclass
class _Stored:
    body: str
    message_id: str
    visible_at: float
    sent_at: datetime
    receive_count: int = 0
    handle: str | None = None


@dataclass
class InMemoryBroker:
    """The same semantics in one process (visibility timeouts, receive counts, a
    dead-letter list after ``max_receives``), for tests that need a queue without SQS:
    one with no redrive policy, or an autoscaler fed by a clock of their own."""

    visibility_timeout_s: float = 30.0
    max_receives: int | None = None
    clock: Any = time.monotonic
    dead_letters: list[str] = field(default_factory=list)
    _messages: dict[str, _Stored] = field(default_factory=dict)
    _ids: Any = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: WakeUp, *, delay_s: int = 0) -> str:
        return self.send_body(message.encode(), delay_s=delay_s)

    def send_body(self, body: str, *, delay_s: int = 0) -> str:
        with self._lock:
            message_id = f"m-{next(self._ids)}"
            self._messages[message_id] = _Stored(
                body, message_id, self.clock() + delay_s, datetime.now(UTC)
            )
            return message_id

    def receive(self, *, wait_s: int = 0) -> Delivery | None:
        deadline = self.clock() + wait_s
        while True:
            with self._lock:
                delivery = self._take_visible()
            if delivery or self.clock() >= deadline:
                return delivery
            time.sleep(0.01)

    def _take_visible(self) -> Delivery | None:
        now = self.clock()
        for stored in list(self._messages.values()):
            if stored.visible_at > now:
                continue
            if self.max_receives and stored.receive_count >= self.max_receives:
                del self._messages[stored.message_id]
                self.dead_letters.append(stored.body)
                continue
            stored.receive_count += 1
            stored.visible_at = now + self.visibility_timeout_s
            stored.handle = f"{stored.message_id}/{stored.receive_count}"
            return Delivery(stored.body, stored.handle, stored.message_id,
                            stored.receive_count, stored.sent_at)
        return None

    def _current(self, delivery: Delivery) -> _Stored | None:
        stored = self._messages.get(delivery.message_id)
        # A stale receipt handle (the message was received again since) does nothing.
        return stored if stored and stored.handle == delivery.receipt_handle else None

    def extend(self, delivery: Delivery, *, visibility_timeout_s: int) -> None:
        with self._lock:
            if stored := self._current(delivery):
                stored.visible_at = self.clock() + visibility_timeout_s

    def release(self, delivery: Delivery) -> None:
        self.extend(delivery, visibility_timeout_s=0)

    def delete(self, delivery: Delivery) -> None:
        with self._lock:
            if self._current(delivery):
                del self._messages[delivery.message_id]

    def counts(self) -> QueueCounts:
        with self._lock:
            now = self.clock()
            visible = sum(1 for m in self._messages.values() if m.visible_at <= now)
            in_flight = sum(1 for m in self._messages.values()
                            if m.visible_at > now and m.receive_count > 0)
            delayed = sum(1 for m in self._messages.values()
                          if m.visible_at > now and m.receive_count == 0)
            return QueueCounts(visible, in_flight, delayed)

    def max_receive_count(self) -> int | None:
        return self.max_receives
