"""Gateway settings (``VF_*`` environment variables)."""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from common.costs import PriceSettings
from common.settings import CommonSettings
from gateway.rate_limit import Limit


class GatewaySettings(CommonSettings, PriceSettings):
    host: str = "127.0.0.1"
    port: int = 8000
    # Prometheus metrics on a listener of their own, never the public port (0: none).
    gateway_metrics_port: int = Field(default=9104, ge=0, le=65535)

    # "mount": gallery and streaming run inside this process (local stack, tests);
    # "proxy": they run elsewhere and requests are forwarded to the URLs below;
    # "off": the gateway serves only its own routes.
    gateway_mode: Literal["mount", "proxy", "off"] = "mount"
    gallery_url: str | None = None
    streaming_url: str | None = None
    proxy_timeout_s: float = 30.0
    # "sigv4": sign what is forwarded as the instance role (the HTTP API is IAM-authorised;
    # gateway/upstream_signing.py); "none": plain requests (a local or private upstream).
    proxy_signing: Literal["none", "sigv4"] = "none"

    cognito_client_secret: SecretStr | None = None

    # Rate limits per route class, COUNT/SECONDS (see Limit.parse). Each request spends a
    # token from its client IP's bucket and, when signed in, from its user's bucket.
    rate_limit_enabled: bool = True
    rate_limit_read: str = "300/60"
    rate_limit_write: str = "60/60"
    rate_limit_upload: str = "20/60"
    rate_limit_submit: str = "20/60"
    rate_limit_auth: str = "10/60"
    # CORS preflights per IP (a browser caches each for 10 minutes).
    rate_limit_preflight: str = "300/60"
    rate_limit_prefix: str = "vf:rl:"

    # Empty: no CORS headers (the browser sees one origin, so none are needed).
    cors_origins: list[str] = []
    # Origins the web page may load media from and call besides this one and the buckets
    # (a CDN in front of the media bucket, a separate streaming URL); JSON list.
    page_extra_origins: list[str] = []

    # Server-sent job events: how often the database is read, and the longest stream.
    sse_poll_interval_s: float = Field(default=1.0, gt=0)
    sse_max_duration_s: float = Field(default=3600.0, gt=0)
    sse_keepalive_s: float = Field(default=15.0, gt=0)
    # Open event streams: per user (a page of jobs: the page polls any beyond), and per
    # gateway process (each polls the database every interval).
    sse_max_streams_per_user: int = Field(default=20, ge=1)
    sse_max_streams: int = Field(default=500, ge=1)

    @field_validator(
        "rate_limit_read", "rate_limit_write", "rate_limit_upload", "rate_limit_submit",
        "rate_limit_auth", "rate_limit_preflight",
    )
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        Limit.parse(value)
        return value

    def limit(self, route_class: str) -> Limit:
        return _parsed_limit(getattr(self, f"rate_limit_{route_class}"))


# Asked on every limited request; a limit is a frozen value, so one parse per text.
_parsed_limit = functools.lru_cache(maxsize=64)(Limit.parse)
