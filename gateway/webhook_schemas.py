"""Request and response bodies of the webhooks API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from common.events import EventType
from common.models import DeliveryStatus
from common.webhook_address import MAX_URL_LENGTH

Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                       max_length=MAX_URL_LENGTH)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200,
                                               pattern=r"^[^\x00-\x1f]*$")]
MAX_GRACE_S = 7 * 86400


def _unique(types: list[EventType]) -> list[EventType]:
    return sorted(set(types), key=list(EventType).index)


EventTypes = Annotated[list[EventType], Field(
    min_length=1, max_length=len(EventType),
    description="the event types to receive: " + ", ".join(t.value for t in EventType)),
    AfterValidator(_unique)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndpointCreate(_Strict):
    url: Url = Field(description="https URL that receives POSTed events",
                     examples=["https://example.com/hooks/videoforge"])
    event_types: EventTypes
    description: Description = ""


class EndpointUpdate(_Strict):
    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = Field(default=None, description="false pauses deliveries; true "
                                                           "resumes them and clears the reason")

    @model_validator(mode="after")
    def _something(self) -> EndpointUpdate:
        if all(v is None for v in (self.url, self.event_types, self.description, self.enabled)):
            raise ValueError("give at least one of url, event_types, description, enabled")
        return self


class EndpointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    url: str
    description: str
    event_types: list[EventType]
    enabled: bool
    disabled_reason: str | None = Field(description="why the endpoint is disabled, when "
                                                    "it is")
    disabled_at: datetime | None
    last_success_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="after a rotation, the old secret also signs until then")
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointPublic):
    secret: str = Field(description="the signing secret: shown only now (rotate to get a "
                                    "new one)")


class EndpointList(BaseModel):
    items: list[EndpointPublic]


class SecretRotate(_Strict):
    keep_previous_s: int = Field(
        default=86400, ge=0, le=MAX_GRACE_S,
        description="seconds the old secret keeps signing beside the new one (0: stop now)")


class SecretPublic(BaseModel):
    endpoint_id: str
    secret: str = Field(description="the new signing secret: shown only now")
    previous_secret_expires_at: datetime | None


class DeliveryPublic(BaseModel):
    id: str
    endpoint_id: str
    event_id: str
    event_type: EventType
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = Field(description="HTTP status of the last attempt; "
                                                     "null if it got no response")
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="null unless pending")
    give_up_at: datetime
    delivered_at: datetime | None
    created_at: datetime


class DeliveryDetail(DeliveryPublic):
    event: dict[str, Any] = Field(description="the event exactly as it is delivered")


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")
