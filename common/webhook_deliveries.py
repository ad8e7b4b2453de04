"""Webhook delivery state: the only module that changes a delivery's status.

    (event) --fan_out--> PENDING --succeed--> SUCCEEDED
                         PENDING --fail--> PENDING (retry later) | FAILED (24 h passed)
    SUCCEEDED | FAILED --redeliver--> PENDING (a fresh 24 h)

Like the job state machine, every change is a conditional UPDATE, so several notifiers can
run against one database (SQLite or PostgreSQL, no ``SKIP LOCKED``): a claim pushes
``next_attempt_at`` forward by a lease and stamps a claim token, and only the holder of
that token may record the outcome. A notifier that dies mid-attempt leaves the delivery
to come due again when its lease runs out. Every function takes ``now`` (the clock is the
caller's, so tests can move it) and leaves the commit to the caller.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from common.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint

# Issue 12: deliveries are retried for 24 hours, then given up.
RETRY_HORIZON = timedelta(hours=24)
_ERROR_CHARS = 500


@dataclass(frozen=True)
class Claim:
    """One delivery attempt a notifier now holds, with everything needed to make it."""

    delivery_id: str
    token: str
    attempt: int
    endpoint_id: str
    url: str
    secrets: tuple[str, ...]  # the current secret first, then one still inside its grace
    event_id: str
    event_type: str
    body: str


@dataclass
class FanOut:
    events: int = 0      # events this call dispatched
    deliveries: int = 0  # deliveries it created for them


@dataclass(frozen=True)
class Failure:
    gave_up: bool
    endpoint_disabled: bool
    next_attempt_at: datetime | None


def _apply(session: Session, model: Any, where: list[Any], values: dict[str, Any]) -> bool:
    result = session.execute(
        update(model).where(*where).values(**values).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def subscribed(endpoint: WebhookEndpoint, event: Event) -> bool:
    return (endpoint.enabled and endpoint.owner_id == event.owner_id
            and event.type in endpoint.event_types and endpoint.created_at <= event.created_at)


def fan_out(session: Session, *, now: datetime, limit: int = 200) -> FanOut:
    """Turn undispatched events into one PENDING delivery per subscribed endpoint; each
    event is dispatched exactly once however many notifiers race."""
    events = session.execute(
        select(Event).where(Event.dispatched_at.is_(None)).order_by(Event.created_at)
        .limit(limit)
    ).scalars().all()
    owners = {e.owner_id for e in events}
    endpoints = session.execute(
        select(WebhookEndpoint).where(WebhookEndpoint.owner_id.in_(owners),
                                      WebhookEndpoint.enabled.is_(True))
    ).scalars().all() if owners else []
    made = FanOut()
    for event in events:
        if not _apply(session, Event, [Event.id == event.id, Event.dispatched_at.is_(None)],
                      {"dispatched_at": now}):
            continue  # another notifier dispatched it
        made.events += 1
        for endpoint in endpoints:
            if subscribed(endpoint, event):
                session.add(WebhookDelivery(event_id=event.id, endpoint_id=endpoint.id,
                                            next_attempt_at=now, give_up_at=now + RETRY_HORIZON,
                                            created_at=now))
                made.deliveries += 1
    session.flush()
    return made


def _secrets(endpoint: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        return (endpoint.secret, endpoint.previous_secret)
    return (endpoint.secret,)


def claim_due(session: Session, *, claimer: str, now: datetime, limit: int,
              lease: timedelta) -> list[Claim]:
    """Claim up to ``limit`` PENDING deliveries that are due, to enabled endpoints, for
    ``lease`` (longer than an attempt can take)."""
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint, Event)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING,
               WebhookDelivery.next_attempt_at <= now, WebhookEndpoint.enabled.is_(True))
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)
    ).all()
    claims = []
    for delivery, endpoint, event in rows:
        token = f"{claimer[:100]}#{uuid.uuid4().hex[:12]}"
        # Still due means nobody claimed it since we read it: a claim moves it a lease on.
        if _apply(session, WebhookDelivery,
                  [WebhookDelivery.id == delivery.id,
                   WebhookDelivery.status == DeliveryStatus.PENDING,
                   WebhookDelivery.next_attempt_at <= now],
                  {"next_attempt_at": now + lease, "claimed_by": token,
                   "attempts": WebhookDelivery.attempts + 1, "last_attempt_at": now}):
            claims.append(Claim(
                delivery_id=delivery.id, token=token, attempt=delivery.attempts + 1,
                endpoint_id=endpoint.id, url=endpoint.url, secrets=_secrets(endpoint, now),
                event_id=event.id, event_type=event.type, body=event.body))
    return claims


def _held(claim: Claim) -> list[Any]:
    return [WebhookDelivery.id == claim.delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.claimed_by == claim.token]


def succeed(session: Session, claim: Claim, *, status_code: int, now: datetime) -> bool:
    """PENDING -> SUCCEEDED for the holder of ``claim``; False if it lost the claim."""
    if not _apply(session, WebhookDelivery, _held(claim),
                  {"status": DeliveryStatus.SUCCEEDED, "delivered_at": now,
                   "last_status_code": status_code, "last_error": None, "claimed_by": None}):
        return False
    _apply(session, WebhookEndpoint, [WebhookEndpoint.id == claim.endpoint_id],
           {"last_success_at": now})
    return True


def fail(session: Session, claim: Claim, *, status_code: int | None, error: str,
         now: datetime, retry_at: datetime) -> Failure | None:
    """Record a failed attempt: retry at ``retry_at`` (never past the horizon), or give up
    once the horizon has passed. An endpoint with no success in the whole horizon of a
    delivery it gave up on is disabled, with the reason. None if the claim was lost."""
    give_up_at = session.execute(select(WebhookDelivery.give_up_at)
                                 .where(WebhookDelivery.id == claim.delivery_id)).scalar()
    if give_up_at is None:
        return None
    error = error[:_ERROR_CHARS]
    gave_up = now >= give_up_at
    next_at = None if gave_up else min(retry_at, give_up_at)
    values: dict[str, Any] = {"last_status_code": status_code, "last_error": error,
                              "claimed_by": None}
    values.update({"status": DeliveryStatus.FAILED} if gave_up else {"next_attempt_at": next_at})
    if not _apply(session, WebhookDelivery, _held(claim), values):
        return None
    disabled = gave_up and _disable_if_failing(session, claim.endpoint_id, now=now,
                                               since=give_up_at - RETRY_HORIZON,
                                               error=error)
    return Failure(gave_up=gave_up, endpoint_disabled=disabled, next_attempt_at=next_at)


def _disable_if_failing(session: Session, endpoint_id: str, *, now: datetime,
                        since: datetime, error: str) -> bool:
    hours = int(RETRY_HORIZON.total_seconds() // 3600)
    reason = (f"disabled automatically at {now:%Y-%m-%d %H:%M} UTC: no delivery succeeded "
              f"for {hours} hours (since {since:%Y-%m-%d %H:%M} UTC); last error: {error}")
    endpoint = WebhookEndpoint
    return _apply(
        session, endpoint,
        [endpoint.id == endpoint_id, endpoint.enabled.is_(True),
         (endpoint.last_success_at.is_(None)) | (endpoint.last_success_at < since)],
        {"enabled": False, "disabled_at": now, "disabled_reason": reason, "updated_at": now},
    )


def redeliver(session: Session, *, delivery_id: str, now: datetime) -> bool:
    """Send a delivery again, as soon as a notifier is free, with a fresh horizon (a
    claim in flight loses its token, so its outcome is not recorded)."""
    return _apply(session, WebhookDelivery, [WebhookDelivery.id == delivery_id],
                  {"status": DeliveryStatus.PENDING, "next_attempt_at": now,
                   "give_up_at": now + RETRY_HORIZON, "claimed_by": None,
                   "delivered_at": None})
