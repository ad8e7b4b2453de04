"""Webhook routes: register endpoints, rotate their secrets, read and replay deliveries.

Events are delivered by ``videoforge notifier`` (notifier/); these routes only change
what it reads. See the README's "Webhooks" section for the signature and a verifier.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from common.events import EventType
from common.http import error_responses
from common.models import DeliveryStatus, utcnow
from common.webhook_address import check_url, parse_networks
from gateway import webhook_endpoints as data
from gateway.deps import CurrentUser, SessionDep, SettingsDep
from gateway.webhook_endpoints import UrlChecker
from gateway.webhook_schemas import (
    DeliveryDetail,
    DeliveryPage,
    DeliveryPublic,
    EndpointCreate,
    EndpointCreated,
    EndpointList,
    EndpointPublic,
    EndpointUpdate,
    SecretPublic,
    SecretRotate,
)

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
MAX_PAGE = 100
_ERRORS = error_responses(400, 401, 404, 422, 429)


def url_checker(settings: SettingsDep) -> UrlChecker:
    """The SSRF rules for endpoint URLs (tests replace the resolver through this)."""
    return partial(check_url,
                   allowed_networks=parse_networks(settings.webhook_allowed_networks))


CheckerDep = Annotated[UrlChecker, Depends(url_checker)]


@router.get("/event-types", response_model=list[EventType], responses=_ERRORS)
def event_types(_: CurrentUser) -> list[EventType]:
    """Every event type an endpoint can subscribe to."""
    return list(EventType)


@router.post("/endpoints", status_code=201, response_model=EndpointCreated,
             responses=error_responses(400, 401, 409, 422, 429))
def create_endpoint(body: EndpointCreate, user: CurrentUser, session: SessionDep,
                    check: CheckerDep, response: Response) -> EndpointCreated:
    """Register an https URL for the given event types. The response holds the signing
    secret; it is never shown again (rotate it to get a new one)."""
    endpoint = data.create_endpoint(session, principal=user, request=body, check=check)
    response.headers["Location"] = f"/api/webhooks/endpoints/{endpoint.id}"
    return EndpointCreated(**EndpointPublic.model_validate(endpoint).model_dump(),
                           secret=endpoint.secret)


@router.get("/endpoints", response_model=EndpointList, responses=_ERRORS)
def list_endpoints(user: CurrentUser, session: SessionDep) -> EndpointList:
    """Your endpoints, oldest first (secrets are not shown)."""
    return EndpointList(items=[EndpointPublic.model_validate(e)
                               for e in data.list_endpoints(session, principal=user)])


@router.get("/endpoints/{endpoint_id}", response_model=EndpointPublic, responses=_ERRORS)
def get_endpoint(endpoint_id: str, user: CurrentUser, session: SessionDep) -> EndpointPublic:
    """One endpoint; ``disabled_reason`` says why it stopped receiving, when it has."""
    return EndpointPublic.model_validate(
        data.owned_endpoint(session, endpoint_id=endpoint_id, principal=user))


@router.patch("/endpoints/{endpoint_id}", response_model=EndpointPublic, responses=_ERRORS)
def update_endpoint(endpoint_id: str, changes: EndpointUpdate, user: CurrentUser,
                    session: SessionDep, check: CheckerDep) -> EndpointPublic:
    """Change the URL, event types or description; ``enabled`` disables or re-enables."""
    endpoint = data.owned_endpoint(session, endpoint_id=endpoint_id, principal=user)
    return EndpointPublic.model_validate(
        data.update_endpoint(session, endpoint=endpoint, changes=changes, check=check))


@router.post("/endpoints/{endpoint_id}/secret", response_model=SecretPublic,
             responses=_ERRORS)
def rotate_secret(endpoint_id: str, user: CurrentUser, session: SessionDep,
                  body: SecretRotate | None = None) -> SecretPublic:
    """A new signing secret, shown once. The old one keeps signing beside it (a second
    ``v1=`` in the signature header) for ``keep_previous_s`` seconds."""
    endpoint = data.owned_endpoint(session, endpoint_id=endpoint_id, principal=user)
    secret = data.rotate_secret(session, endpoint=endpoint,
                                keep_previous_s=(body or SecretRotate()).keep_previous_s)
    return SecretPublic(endpoint_id=endpoint.id, secret=secret,
                        previous_secret_expires_at=endpoint.previous_secret_expires_at)


@router.delete("/endpoints/{endpoint_id}", status_code=204, response_class=Response,
               responses=_ERRORS)
def delete_endpoint(endpoint_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """Delete the endpoint and its delivery log; nothing more is sent to it."""
    data.delete_endpoint(
        session, endpoint=data.owned_endpoint(session, endpoint_id=endpoint_id, principal=user))
    return Response(status_code=204)


@router.get("/endpoints/{endpoint_id}/deliveries", response_model=DeliveryPage,
            responses=_ERRORS)
def list_deliveries(
    endpoint_id: str, user: CurrentUser, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    status: DeliveryStatus | None = None,
) -> DeliveryPage:
    """The delivery log, newest first: status, attempts, the last response code."""
    endpoint = data.owned_endpoint(session, endpoint_id=endpoint_id, principal=user)
    return data.list_deliveries(session, endpoint=endpoint, limit=limit, cursor=cursor,
                                status=status)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail, responses=_ERRORS)
def get_delivery(delivery_id: str, user: CurrentUser, session: SessionDep) -> DeliveryDetail:
    """One delivery with the event exactly as it is sent."""
    delivery, event = data.owned_delivery(session, delivery_id=delivery_id, principal=user)
    return data.delivery_detail(delivery, event)


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202,
             response_model=DeliveryPublic, responses={**_ERRORS, **error_responses(409)})
def redeliver(delivery_id: str, user: CurrentUser, session: SessionDep) -> DeliveryPublic:
    """Send a delivery again (same event id and body) with a fresh 24 hours of retries."""
    delivery, event = data.owned_delivery(session, delivery_id=delivery_id, principal=user)
    delivery = data.redeliver(session, delivery=delivery, now=utcnow())
    return data.delivery_public(delivery, event.type)
