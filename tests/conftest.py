"""Real parts for the tests: a moto server, a PostgreSQL database, Redis, ffmpeg.

- ``moto_endpoint``: one ThreadedMotoServer on a free loopback port per test session.
- ``database_url``: a fresh PostgreSQL database per test session (so parallel runs on one
  machine never meet), migrated with Alembic, dropped at the end.
- ``db_session``: a session rolled back after each test.
- ``aws_resources``: fresh buckets and a job queue with a real redrive policy per test.
- ``cognito``: one moto user pool (owner, other, admin) per test session.

Helpers live in ``tests.support``; this file and the folders' conftest files hold fixtures.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from common.db import engine_for, migrate, normalize_url
from tests.support import xdist_groups
from tests.support.aws_resources import AwsResources, create_aws_resources
from tests.support.cognito import CognitoPool, create_pool
from tests.support.services import ADMIN_DATABASE_URL, truncate_all
from videoforge.stack.net import free_port


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
    """For tests whose processes commit for real: every table is emptied afterwards."""
    yield database_url
    truncate_all(database_url)


@pytest.fixture
def aws_resources(moto_endpoint: str) -> AwsResources:
    return create_aws_resources(moto_endpoint)


@pytest.fixture(scope="session")
def cognito(moto_endpoint: str) -> CognitoPool:
    """Users owner, other and admin of one pool for the test session."""
    return create_pool(moto_endpoint)


@pytest.fixture
def settings_env(aws_resources: AwsResources, database_url: str) -> dict[str, str]:
    """Environment for a service or subprocess under test: real DB, moto AWS."""
    return {**aws_resources.env(), "VF_DATABASE_URL": database_url, "VF_ENV": "test",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: Any, log: Any) -> Any:
    return xdist_groups.scheduler(config, log)


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the order work is handed out in
        items.sort(key=lambda item: xdist_groups.rank(item.nodeid))


def pytest_configure(config: Any) -> None:
    os.environ.setdefault("VF_ENV", "test")
    # Started in the background by a shell (`make test &`, some CI runners), we inherit an
    # ignored SIGINT, and so would every process a test starts: `videoforge up` would not
    # hear the Ctrl-C the stack tests send it. Python's own handler is not inherited.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # No fixed metrics ports for apps built in tests (parallel sessions would collide);
    # a test that scrapes one gives it a free port.
    for service in ("GATEWAY", "GALLERY", "STREAMING"):
        os.environ.setdefault(f"VF_{service}_METRICS_PORT", "0")
