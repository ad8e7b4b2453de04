"""Prometheus metrics of the notifier (served on VF_NOTIFIER_METRICS_PORT)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_DISPATCHED = Counter(
    "videoforge_webhook_events_dispatched_total",
    "Events fanned out from the outbox into deliveries.")
DELIVERIES_CREATED = Counter(
    "videoforge_webhook_deliveries_created_total",
    "Deliveries created by fan-out (one per event and subscribed endpoint).")
ATTEMPTS = Counter(
    "videoforge_webhook_attempts_total",
    "Delivery attempts by outcome: succeeded, retry (failed, tried again later), gave_up "
    "(failed after the 24 h horizon), lost (the claim was taken back meanwhile).",
    ["outcome"])
RESPONSES = Counter(
    "videoforge_webhook_responses_total",
    "Receiver answers by status class (2xx … 5xx; none = no HTTP answer).",
    ["code_class"])
ATTEMPT_SECONDS = Histogram(
    "videoforge_webhook_attempt_duration_seconds",
    "Time one delivery attempt took, connect to last byte read.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
ENDPOINTS_DISABLED = Counter(
    "videoforge_webhook_endpoints_disabled_total",
    "Endpoints disabled because no delivery succeeded for the retry horizon.")
PENDING = Gauge(
    "videoforge_webhook_pending_deliveries",
    "Deliveries waiting for an attempt (sampled by each notifier).")
OUTBOX_LAG = Gauge(
    "videoforge_webhook_outbox_lag_seconds",
    "Age of the oldest event not yet fanned out (0 when the outbox is drained).")
IN_FLIGHT = Gauge(
    "videoforge_webhook_attempts_in_flight",
    "Attempts this notifier is making right now.")
