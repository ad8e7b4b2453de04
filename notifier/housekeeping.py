"""What a notifier does now and then besides delivering: sample the backlog gauges and
remove old events (their deliveries go with them) once nothing about them is pending."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from common.models import DeliveryStatus, Event, WebhookDelivery
from notifier import metrics
from notifier.settings import NotifierSettings

SAMPLE_EVERY = timedelta(seconds=15)
PRUNE_EVERY = timedelta(hours=1)


def sample(session: Session, *, now: datetime) -> None:
    pending = session.execute(select(func.count()).select_from(WebhookDelivery)
                              .where(WebhookDelivery.status == DeliveryStatus.PENDING)).scalar()
    oldest = session.execute(select(func.min(Event.created_at))
                             .where(Event.dispatched_at.is_(None))).scalar()
    metrics.PENDING.set(pending or 0)
    metrics.OUTBOX_LAG.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)


def prune(session: Session, *, before: datetime) -> int:
    """Delete events created before ``before`` that are dispatched and have no pending
    delivery; returns how many."""
    pending = (select(WebhookDelivery.id)
               .where(WebhookDelivery.event_id == Event.id,
                      WebhookDelivery.status == DeliveryStatus.PENDING))
    result = session.execute(
        delete(Event).where(Event.created_at < before, Event.dispatched_at.is_not(None),
                            ~exists(pending))
        .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


class Housekeeping:
    def __init__(self, settings: NotifierSettings) -> None:
        self.retention = timedelta(days=settings.webhook_retention_days)
        self._sampled: datetime | None = None
        self._pruned: datetime | None = None

    def maybe_run(self, session: Session, *, now: datetime) -> None:
        if self._sampled is None or now - self._sampled >= SAMPLE_EVERY:
            sample(session, now=now)
            self._sampled = now
        if self._pruned is None or now - self._pruned >= PRUNE_EVERY:
            prune(session, before=now - self.retention)
            self._pruned = now
