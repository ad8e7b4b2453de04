"""Settings shared by every service: read from ``VF_*`` environment variables.

Each service subclasses :class:`CommonSettings` with its own fields, so one settings
object per service holds everything that service reads.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(StrEnum):
    """Where a process runs (``VF_ENV``): the one switch between the safe default and
    the conveniences of one machine. Everything that differs by mode asks this."""

    PRODUCTION = "production"  # the default: every safeguard on, JSON logs
    LOCAL = "local"            # `videoforge up` on one machine: readable log lines
    TEST = "test"              # the test suite

    @property
    def relaxed(self) -> bool:
        """One process on one machine: per-process secrets (e.g. a random grant key)
        are acceptable."""
        return self is not Mode.PRODUCTION

    @property
    def readable_logs(self) -> bool:
        return self is Mode.LOCAL


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VF_", extra="ignore")

    # Secure unless told otherwise: only `videoforge up` (local) and the tests relax it.
    env: Mode = Mode.PRODUCTION
    log_level: str = "INFO"

    @field_validator("env", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() not in set(Mode):
            raise ValueError(f"VF_ENV must be one of {', '.join(Mode)}, not {value!r}")
        return value.strip().lower() if isinstance(value, str) else value

    # SQLite is the embedded default; tests and production give a PostgreSQL URL.
    database_url: str = "sqlite:///videoforge.db"
    # Database sessions an HTTP service holds at once (requests and event streams
    # together): below the engine's pool, SQLAlchemy's QueuePool default 5 + 10 overflow.
    db_session_budget: int = Field(default=10, ge=1, le=15)

    # No endpoint means real AWS; the local stack and the tests point this at moto.
    aws_endpoint_url: str | None = None
    # Per-service overrides of aws_endpoint_url, e.g. {"s3": URL, "cognito-idp": URL}
    # (JSON in VF_AWS_ENDPOINT_URLS): the local stack serves S3 and Cognito from its own
    # persistent servers and the rest from moto.
    aws_endpoint_urls: dict[str, str] = {}
    aws_region: str = "us-east-1"

    uploads_bucket: str = "videoforge-uploads"
    media_bucket: str = "videoforge-media"
    jobs_queue_name: str = "videoforge-jobs"
    dead_letter_queue_name: str = "videoforge-jobs-dlq"

    redis_url: str | None = None

    cognito_user_pool_id: str | None = None
    cognito_client_id: str | None = None

    # How many reverse proxies in front of this service append to X-Forwarded-For
    # (0: ignore the header). Rate limits and view counts both read the caller's
    # address through common.client_ip with it.
    trusted_proxies: int = Field(default=0, ge=0)

    # Networks webhooks may reach although they are not public (JSON list of CIDRs, e.g.
    # '["127.0.0.0/8", "::1/128"]'); plain http is accepted only to these. Empty in
    # production: the local stack and the tests open loopback (common/webhook_address.py).
    webhook_allowed_networks: list[str] = []

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names the bad one
        return value
