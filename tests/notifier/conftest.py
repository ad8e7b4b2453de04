"""Notifier fixtures: settings over the session's PostgreSQL with loopback allowlisted,
a real receiver on loopback, and the webhook tables emptied after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from common.db import session_factory
from notifier.service import Notifier
from notifier.settings import NotifierSettings
from tests.support.webhooks import FakeClock, Receiver, truncate_webhooks


@pytest.fixture
def notifier_settings(clean_database: str) -> Iterator[NotifierSettings]:
    yield NotifierSettings(
        env="test", database_url=clean_database, notifier_id="test-notifier",
        webhook_allowed_networks=["127.0.0.0/8", "::1/128"], webhook_retry_base_s=10,
        webhook_retry_max_s=3600, webhook_connect_timeout_s=1, webhook_read_timeout_s=1,
        webhook_poll_interval_s=0.05, notifier_metrics_port=0)
    truncate_webhooks(clean_database)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def notifier(notifier_settings: NotifierSettings, clock: FakeClock) -> Iterator[Notifier]:
    import random

    n = Notifier(notifier_settings, sessions=session_factory(notifier_settings.database_url),
                 clock=clock, rng=random.Random(7))
    yield n
    n.drain(10)
