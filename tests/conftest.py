"""Real parts for the tests: a moto server, a PostgreSQL database, Redis, ffmpeg.

- ``moto_endpoint``: one ThreadedMotoServer on a free loopback port per test session.
- ``database_url``: a fresh PostgreSQL database per test session (so parallel runs on one
  machine never meet), migrated with Alembic, dropped at the end.
- ``db_session``: a session rolled back after each test.
- ``aws_resources``: fresh buckets and a job queue with a real redrive policy per test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from common import aws
from common.db import engine_for, migrate, normalize_url
from common.settings import CommonSettings
from videoforge.stack.net import free_port

ADMIN_DATABASE_URL = os.environ.get(
    "VF_TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("VF_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session", autouse=True)
def _aws_test_credentials() -> None:
    # Fake credentials: nothing in a test may ever reach real AWS.
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def moto_endpoint(_aws_test_credentials: None) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"vf_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(ADMIN_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    yield url
    engine_for(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_session(database_url: str) -> Iterator[Session]:
    """A session whose work is rolled back after the test, commits included."""
    connection = engine_for(database_url).connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint",
                      expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def clean_database(database_url: str) -> Iterator[str]:
    """For tests whose processes commit for real: the tables are emptied afterwards."""
    yield database_url
    with engine_for(database_url).begin() as conn:
        conn.execute(text("TRUNCATE media_assets, jobs, gallery_videos CASCADE"))


@dataclass
class AwsResources:
    endpoint_url: str
    uploads_bucket: str
    media_bucket: str
    queue_name: str
    queue_url: str
    dlq_name: str
    dlq_url: str

    def env(self) -> dict[str, str]:
        """The VF_* variables that point a service (or a subprocess) at these resources."""
        return {
            "VF_AWS_ENDPOINT_URL": self.endpoint_url,
            "VF_AWS_REGION": "us-east-1",
            "VF_UPLOADS_BUCKET": self.uploads_bucket,
            "VF_MEDIA_BUCKET": self.media_bucket,
            "VF_JOBS_QUEUE_NAME": self.queue_name,
            "VF_DEAD_LETTER_QUEUE_NAME": self.dlq_name,
        }


def create_aws_resources(
    endpoint_url: str, *, max_receive_count: int = 3, visibility_timeout: int = 30
) -> AwsResources:
    suffix = uuid.uuid4().hex[:8]
    settings = CommonSettings(aws_endpoint_url=endpoint_url)
    s3 = aws.client("s3", settings)
    sqs = aws.client("sqs", settings)
    uploads, media = f"vf-uploads-{suffix}", f"vf-media-{suffix}"
    for bucket in (uploads, media):
        s3.create_bucket(Bucket=bucket)
    dlq_name, queue_name = f"vf-jobs-dlq-{suffix}", f"vf-jobs-{suffix}"
    dlq_url = sqs.create_queue(QueueName=dlq_name)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    import json

    queue_url = sqs.create_queue(
        QueueName=queue_name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )["QueueUrl"]
    return AwsResources(endpoint_url, uploads, media, queue_name, queue_url, dlq_name, dlq_url)


@pytest.fixture
def aws_resources(moto_endpoint: str) -> AwsResources:
    return create_aws_resources(moto_endpoint)


@pytest.fixture
def settings_env(aws_resources: AwsResources, database_url: str) -> dict[str, str]:
    """Environment for a service or subprocess under test: real DB, moto AWS."""
    return {**aws_resources.env(), "VF_DATABASE_URL": database_url, "VF_ENV": "test",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def pytest_configure(config: Any) -> None:
    os.environ.setdefault("VF_ENV", "test")
