"""Provisioning against the moto server: unique names per test, clients, the CLI's JSON."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from common import aws
from common.settings import CommonSettings


@pytest.fixture
def names(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    env = {
        "VF_AWS_ENDPOINT_URL": moto_endpoint,
        "VF_UPLOADS_BUCKET": f"vf-up-{suffix}",
        "VF_MEDIA_BUCKET": f"vf-media-{suffix}",
        "VF_JOBS_QUEUE_NAME": f"vf-jobs-{suffix}",
        "VF_DEAD_LETTER_QUEUE_NAME": f"vf-jobs-dlq-{suffix}",
        "VF_AUTOSCALER_ASG_NAME": f"vf-workers-{suffix}",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("VF_COGNITO_USER_POOL_ID", raising=False)
    return {**env, "pool": f"vf-users-{suffix}", "prefix": f"vf-{suffix}"}


@pytest.fixture
def client(moto_endpoint: str) -> Any:
    settings = CommonSettings(aws_endpoint_url=moto_endpoint)
    return lambda service: aws.client(service, settings)
