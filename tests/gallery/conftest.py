from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common import aws
from gallery.app import create_app
from gallery.settings import GallerySettings
from tests.support.cognito import CognitoPool
from tests.support.service_settings import service_settings
from tests.support.services import REDIS_URL


@pytest.fixture
def gallery_settings(aws_resources: Any, clean_database: str,
                     cognito: CognitoPool) -> GallerySettings:
    return service_settings(GallerySettings, resources=aws_resources,
                            database_url=clean_database, pool=cognito, redis_url=REDIS_URL,
                            view_key_prefix=f"vf-test-{uuid.uuid4().hex[:8]}:")


@pytest.fixture
def client(gallery_settings: GallerySettings) -> Iterator[TestClient]:
    with TestClient(create_app(gallery_settings)) as test_client:
        yield test_client


@pytest.fixture
def s3(gallery_settings: GallerySettings) -> Any:
    return aws.client("s3", gallery_settings)

