"""An HTTP service's settings pointed at the test database, moto resources and pool."""

from __future__ import annotations

from typing import Any

from tests.support.cognito import CognitoPool


def service_settings(cls: type[Any], *, resources: Any, database_url: str,
                     pool: CognitoPool, **extra: Any) -> Any:
    return cls(
        env="test",
        database_url=database_url,
        aws_endpoint_url=resources.endpoint_url,
        uploads_bucket=resources.uploads_bucket,
        media_bucket=resources.media_bucket,
        jobs_queue_name=resources.queue_name,
        dead_letter_queue_name=resources.dlq_name,
        cognito_user_pool_id=pool.pool_id,
        cognito_client_id=pool.client_id,
        **extra,
    )
