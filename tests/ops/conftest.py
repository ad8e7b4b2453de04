"""Fixtures of the ops tests: the monitoring role rendered once per session."""

from __future__ import annotations

import pytest

from tests.ops.monitoring_config import MonitoringConfig, render


@pytest.fixture(scope="session")
def monitoring_config(tmp_path_factory: pytest.TempPathFactory) -> MonitoringConfig:
    return render(tmp_path_factory.mktemp("monitoring"))
