from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common import aws
from streaming.app import create_app
from streaming.settings import StreamingSettings
from tests.support.cognito import CognitoPool
from tests.support.service_settings import service_settings


@pytest.fixture
def streaming_settings(aws_resources: Any, clean_database: str,
                       cognito: CognitoPool) -> StreamingSettings:
    return service_settings(StreamingSettings, resources=aws_resources,
                            database_url=clean_database, pool=cognito)


@pytest.fixture
def client(streaming_settings: StreamingSettings) -> Iterator[TestClient]:
    with TestClient(create_app(streaming_settings)) as test_client:
        yield test_client


@pytest.fixture
def s3(streaming_settings: StreamingSettings) -> Any:
    return aws.client("s3", streaming_settings)

