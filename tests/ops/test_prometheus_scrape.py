"""A real Prometheus, configured by the monitoring role, scrapes a service and a worker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.ops.ansible_run import REPO
from tests.ops.metrics_targets import SERVICE_NAME
from tests.ops.monitoring_config import render

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
WAIT_SECONDS = 30

pytestmark = pytest.mark.skipif(
    not os.access(PROMETHEUS, os.X_OK), reason="prometheus not installed"
)


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start processes that are stopped (and reaped) when the test ends."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*command: str | Path) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        process = subprocess.Popen(
            [str(c) for c in command],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _eventually(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            result = check()
            if result:
                return result
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {WAIT_SECONDS}s waiting for {what}")
        time.sleep(0.25)


def _query(port: int, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": promql})
    response.raise_for_status()
    return list(response.json()["data"]["result"])


def test_prometheus_scrapes_a_service_and_a_worker(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    service_port, worker_port, prometheus_port = free_port(), free_port(), free_port()
    spawn(sys.executable, "-m", "tests.ops.metrics_targets", "service", str(service_port))
    spawn(sys.executable, "-m", "tests.ops.metrics_targets", "worker", str(worker_port))
    # The role's own templates, pointed at the two processes.
    config = render(
        tmp_path / "config",
        monitoring_scrape_interval="1s",
        monitoring_evaluation_interval="1s",
        monitoring_prometheus_listen_address=f"127.0.0.1:{prometheus_port}",
        monitoring_service_targets={SERVICE_NAME: [f"127.0.0.1:{service_port}"]},
        monitoring_worker_static_targets=[f"127.0.0.1:{worker_port}"],
        monitoring_node_static_targets=[],
        monitoring_ec2_sd_enabled=False,
    )
    ping = f"http://127.0.0.1:{service_port}/ping"
    _eventually(lambda: httpx.get(ping).status_code == 200, "the service")
    spawn(
        PROMETHEUS,
        f"--config.file={config.prometheus_yml}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prometheus_port}",
    )

    requests = _eventually(
        lambda: _query(
            prometheus_port,
            f'videoforge_http_requests_total{{job="{SERVICE_NAME}", route="/ping"}}',
        ),
        "the service's request counter in Prometheus",
    )
    assert requests[0]["metric"]["service"] == SERVICE_NAME
    assert float(requests[0]["value"][1]) >= 1

    jobs = _eventually(
        lambda: _query(prometheus_port, 'videoforge_jobs_total{job="worker"}'),
        "the worker's job counter in Prometheus",
    )
    assert jobs[0]["metric"]["outcome"] == "succeeded"
    assert float(jobs[0]["value"][1]) == 1

    rules = httpx.get(f"http://127.0.0.1:{prometheus_port}/api/v1/rules").json()["data"]
    loaded = {rule["name"] for group in rules["groups"] for rule in group["rules"]}
    assert "JobFailureRateHigh" in loaded, "Prometheus did not load the role's alert rules"
