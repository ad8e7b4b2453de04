"""One place that builds boto3 clients, so every service honours the endpoint override."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from common.settings import CommonSettings

# "adaptive" adds client-side rate limiting on throttling errors on top of the
# standard retry mode's exponential backoff; 5 attempts is boto's documented ceiling
# for standard mode's default of 3 raised modestly for a batch fleet.
_RETRY_CONFIG = Config(retries={"max_attempts": 5, "mode": "adaptive"})


def endpoint_url(service: str, settings: CommonSettings) -> str | None:
    """Where ``service`` is reached: its own override, the shared endpoint, or real AWS."""
    return settings.aws_endpoint_urls.get(service) or settings.aws_endpoint_url


def client(service: str, settings: CommonSettings, **overrides: Any) -> Any:
    """A boto3 client for ``service`` at :func:`endpoint_url` (None: real AWS)."""
    config = _RETRY_CONFIG
    if service == "s3":
        # Presigned URLs must carry the SigV4 signature and address the bucket by path,
        # which is what both moto and browsers behind the gateway can reach.
        config = config.merge(
            Config(signature_version="s3v4", s3={"addressing_style": "path"})
        )
    return boto3.client(
        service,
        region_name=settings.aws_region,
        endpoint_url=endpoint_url(service, settings),
        config=config,
        **overrides,
    )
