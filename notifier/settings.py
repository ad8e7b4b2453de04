"""Notifier settings (``VF_*`` environment variables)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from pydantic import Field

from common.settings import CommonSettings


def _default_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


_LEASE_MARGIN_S = 5.0


class NotifierSettings(CommonSettings):
    notifier_id: str = Field(default_factory=_default_id, max_length=100)
    # Attempts in flight at once, and how often an idle notifier looks for work.
    webhook_concurrency: int = Field(default=8, ge=1, le=256)
    webhook_poll_interval_s: float = Field(default=1.0, gt=0)
    # Per attempt: TCP+TLS connect, then each read; the whole attempt is cut off at
    # connect + 2 × read, however slowly a receiver trickles bytes.
    webhook_connect_timeout_s: float = Field(default=5.0, gt=0)
    webhook_read_timeout_s: float = Field(default=10.0, gt=0)
    # Receivers' response bodies are read only this far (the log keeps a short excerpt).
    webhook_max_response_bytes: int = Field(default=64 * 1024, ge=0)
    # Backoff before retry n: base × 2^(n-1), capped, with jitter (notifier/backoff.py).
    webhook_retry_base_s: float = Field(default=10.0, gt=0)
    webhook_retry_max_s: float = Field(default=3600.0, gt=0)
    # Extra CA certificates to trust (PEM file), e.g. a private CA in front of receivers.
    webhook_ca_file: str | None = None
    # Delivered events are kept this long for the delivery log, then removed.
    webhook_retention_days: float = Field(default=30.0, gt=0)
    notifier_metrics_port: int = Field(default=9103, ge=0, le=65535)
    # After the first SIGTERM, attempts in flight get this long to finish.
    notifier_drain_timeout_s: float = Field(default=30.0, ge=0)

    def attempt_budget_s(self) -> float:
        """The longest one attempt can take: the transport's watchdog cuts it off here."""
        return self.webhook_connect_timeout_s + 2 * self.webhook_read_timeout_s

    def lease(self) -> timedelta:
        """How long a claimed delivery stays ours: past the budget, with a margin for the
        database write of the outcome. A notifier that dies is retried after this."""
        return timedelta(seconds=self.attempt_budget_s() + _LEASE_MARGIN_S)
