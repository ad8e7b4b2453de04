"""Webhook endpoints and their delivery log: the data functions behind the routes.

An endpoint is its owner's alone (admins included, someone else's is 404): its secret
signs what we send, so nobody else may read, rotate or redirect it.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from common import webhook_deliveries
from common.auth import Principal
from common.events import EventType
from common.http import ApiError, not_found
from common.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint, utcnow
from common.webhook_address import Target, UnsafeUrl
from gateway.pagination import Cursor
from gateway.webhook_schemas import (
    DeliveryDetail,
    DeliveryPage,
    DeliveryPublic,
    EndpointCreate,
    EndpointUpdate,
)

MAX_ENDPOINTS_PER_USER = 20
UrlChecker = Callable[[str], Target]


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _checked(url: str, check: UrlChecker) -> str:
    try:
        check(url)
    except UnsafeUrl as exc:
        raise ApiError(422, f"url refused: {exc}", code="unsafe_url") from None
    return url


def create_endpoint(session: Session, *, principal: Principal, request: EndpointCreate,
                    check: UrlChecker) -> WebhookEndpoint:
    count = session.execute(select(func.count()).select_from(WebhookEndpoint)
                            .where(WebhookEndpoint.owner_id == principal.user_id)).scalar_one()
    if count >= MAX_ENDPOINTS_PER_USER:
        raise ApiError(409, f"you have {MAX_ENDPOINTS_PER_USER} endpoints already; delete "
                            "one first", code="too_many_endpoints")
    endpoint = WebhookEndpoint(
        owner_id=principal.user_id, url=_checked(request.url, check),
        description=request.description, event_types=[t.value for t in request.event_types],
        secret=new_secret(), enabled=True)
    session.add(endpoint)
    session.commit()
    return endpoint


def _parse_id(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def owned_endpoint(session: Session, *, endpoint_id: str, principal: Principal) -> WebhookEndpoint:
    parsed = _parse_id(endpoint_id)
    endpoint = session.get(WebhookEndpoint, parsed) if parsed else None
    if endpoint is None or endpoint.owner_id != principal.user_id:
        raise not_found("endpoint")
    return endpoint


def list_endpoints(session: Session, *, principal: Principal) -> list[WebhookEndpoint]:
    return list(session.execute(
        select(WebhookEndpoint).where(WebhookEndpoint.owner_id == principal.user_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    ).scalars())


def update_endpoint(session: Session, *, endpoint: WebhookEndpoint, changes: EndpointUpdate,
                    check: UrlChecker) -> WebhookEndpoint:
    if changes.url is not None:
        endpoint.url = _checked(changes.url, check)
    if changes.event_types is not None:
        endpoint.event_types = [t.value for t in changes.event_types]
    if changes.description is not None:
        endpoint.description = changes.description
    if changes.enabled is not None and changes.enabled != endpoint.enabled:
        endpoint.enabled = changes.enabled
        endpoint.disabled_at = None if changes.enabled else utcnow()
        endpoint.disabled_reason = None if changes.enabled else "disabled by its owner"
    session.commit()
    return endpoint


def rotate_secret(session: Session, *, endpoint: WebhookEndpoint, keep_previous_s: int) -> str:
    now = utcnow()
    endpoint.previous_secret = endpoint.secret if keep_previous_s else None
    endpoint.previous_secret_expires_at = (
        now + timedelta(seconds=keep_previous_s) if keep_previous_s else None)
    endpoint.secret = new_secret()
    session.commit()
    return endpoint.secret


def delete_endpoint(session: Session, *, endpoint: WebhookEndpoint) -> None:
    session.delete(endpoint)  # its deliveries go with it (ON DELETE CASCADE)
    session.commit()


def delivery_public(delivery: WebhookDelivery, event_type: str) -> DeliveryPublic:
    pending = delivery.status == DeliveryStatus.PENDING
    return DeliveryPublic(
        id=delivery.id, endpoint_id=delivery.endpoint_id, event_id=delivery.event_id,
        event_type=EventType(event_type), status=delivery.status, attempts=delivery.attempts,
        last_status_code=delivery.last_status_code, last_error=delivery.last_error,
        last_attempt_at=delivery.last_attempt_at,
        next_attempt_at=delivery.next_attempt_at if pending else None,
        give_up_at=delivery.give_up_at, delivered_at=delivery.delivered_at,
        created_at=delivery.created_at)


def list_deliveries(session: Session, *, endpoint: WebhookEndpoint, limit: int,
                    cursor: str | None, status: DeliveryStatus | None) -> DeliveryPage:
    """The endpoint's deliveries, newest first, a page at a time."""
    query = (select(WebhookDelivery, Event.type)
             .join(Event, Event.id == WebhookDelivery.event_id)
             .where(WebhookDelivery.endpoint_id == endpoint.id))
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if cursor:
        after = Cursor.decode(cursor)
        query = query.where(or_(
            WebhookDelivery.created_at < after.created_at,
            and_(WebhookDelivery.created_at == after.created_at, WebhookDelivery.id < after.id)))
    rows = session.execute(query.order_by(WebhookDelivery.created_at.desc(),
                                          WebhookDelivery.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    last = page[-1][0] if page else None
    return DeliveryPage(
        items=[delivery_public(d, t) for d, t in page],
        next_cursor=Cursor(last.created_at, last.id).encode()
        if last is not None and len(rows) > limit else None)


def owned_delivery(session: Session, *, delivery_id: str,
                   principal: Principal) -> tuple[WebhookDelivery, Event]:
    parsed = _parse_id(delivery_id)
    row = session.execute(
        select(WebhookDelivery, Event)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id == parsed, WebhookEndpoint.owner_id == principal.user_id)
    ).first() if parsed else None
    if row is None:
        raise not_found("delivery")
    return row[0], row[1]


def delivery_detail(delivery: WebhookDelivery, event: Event) -> DeliveryDetail:
    return DeliveryDetail(**delivery_public(delivery, event.type).model_dump(),
                          event=json.loads(event.body))


def redeliver(session: Session, *, delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or not endpoint.enabled:
        raise ApiError(409, "the endpoint is disabled; enable it first", code="endpoint_disabled")
    webhook_deliveries.redeliver(session, delivery_id=delivery.id, now=now)
    session.commit()
    session.refresh(delivery)
    return delivery
