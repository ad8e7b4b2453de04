"""The events as OpenAPI webhooks (``webhooks`` in /openapi.json): what a receiver is
sent, one entry per event type, so integrators can generate their handlers' types."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, cast

from fastapi import FastAPI, Header

from common.events import EventEnvelope, EventType, RenditionPublic
from common.job_view import JobPublic
from common.video_view import VideoPublic

_DATA: dict[str, type] = {"job": JobPublic, "video": VideoPublic, "rendition": RenditionPublic}
_HEADERS = {
    "signature": ("VideoForge-Signature",
                  't=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")> (see the README)'),
    "event_id": ("VideoForge-Event-Id", "the event's stable id, as in the body"),
    "event_type": ("VideoForge-Event-Type", "the event's type, as in the body"),
    "delivery_id": ("VideoForge-Delivery-Id", "this delivery (one per event and endpoint)"),
    "attempt": ("VideoForge-Delivery-Attempt", "1 for the first attempt, then 2, 3, …"),
}


def _receiver(event_type: EventType) -> Callable[..., None]:
    def receive(**_: Any) -> None:
        """Answer 2xx within 10 s; anything else is retried (see the README's Webhooks)."""

    body = cast(Any, EventEnvelope)[_DATA[event_type.resource]]  # a type built at runtime
    params = [inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=body)]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                 annotation=Annotated[str, Header(alias=alias, description=text)])
               for name, (alias, text) in _HEADERS.items()]
    receive.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return receive


def document_webhooks(app: FastAPI) -> None:
    for event_type in EventType:
        app.webhooks.add_api_route(
            event_type.value, _receiver(event_type), methods=["POST"], status_code=204,
            summary=f"{event_type.value}: sent to your endpoint",
            operation_id=f"webhook_{event_type.value.replace('.', '_')}")
