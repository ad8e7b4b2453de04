"""A real Prometheus, configured by the monitoring role, scrapes a running service
(``videoforge serve streaming``) and a running worker (``videoforge worker``)."""

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

from tests.ops.ansible_run import REPO
from tests.ops.monitoring_config import render
from videoforge.stack.net import free_port

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
SERVICE = "streaming"
# An idle worker: short polls, no dead-letter sweeps.
WORKER_ENV = {"VF_POLL_WAIT_S": "1", "VF_DLQ_SWEEP_INTERVAL_S": "0"}
WAIT_SECONDS = 30

pytestmark = pytest.mark.skipif(
    not os.access(PROMETHEUS, os.X_OK), reason="prometheus not installed"
)


@pytest.fixture
def spawn(settings_env: dict[str, str]) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start processes (with the test's database and moto) and stop them at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*command: str | Path, **env: str) -> subprocess.Popen[bytes]:
        full_env = {**os.environ, **settings_env, "PYTHONPATH": str(REPO), **env}
        process = subprocess.Popen(
            [str(c) for c in command],
            cwd=REPO,
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=15)
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
    service_port, metrics_port = free_port(), free_port()
    worker_port, prometheus_port = free_port(), free_port()
    videoforge = (sys.executable, "-m", "videoforge")
    spawn(*videoforge, "serve", SERVICE, "--port", str(service_port),
          VF_STREAMING_METRICS_PORT=str(metrics_port))
    spawn(*videoforge, "worker", "--metrics-port", str(worker_port), **WORKER_ENV)
    # The role's own templates, pointed at the two processes.
    config = render(
        tmp_path / "config",
        monitoring_scrape_interval="1s",
        monitoring_evaluation_interval="1s",
        monitoring_prometheus_listen_address=f"127.0.0.1:{prometheus_port}",
        monitoring_service_targets={SERVICE: [f"127.0.0.1:{metrics_port}"]},
        monitoring_worker_static_targets=[f"127.0.0.1:{worker_port}"],
        monitoring_node_static_targets=[],
        monitoring_ec2_sd_enabled=False,
    )
    health = f"http://127.0.0.1:{service_port}/healthz"
    _eventually(lambda: httpx.get(health).status_code == 200, "the service")
    spawn(
        PROMETHEUS,
        f"--config.file={config.prometheus_yml}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prometheus_port}",
    )

    requests = _eventually(
        lambda: _query(
            prometheus_port,
            f'videoforge_http_requests_total{{job="{SERVICE}", route="/healthz"}}',
        ),
        "the service's request counter in Prometheus",
    )
    assert requests[0]["metric"]["service"] == SERVICE
    assert float(requests[0]["value"][1]) >= 1
    # The public port serves no metrics.
    assert httpx.get(f"http://127.0.0.1:{service_port}/metrics").status_code == 404

    in_flight = _eventually(
        lambda: _query(prometheus_port, 'videoforge_jobs_in_flight{job="worker"}'),
        "the worker's in-flight gauge in Prometheus",
    )
    assert float(in_flight[0]["value"][1]) == 0, "an idle worker holds no job"

    rules = httpx.get(f"http://127.0.0.1:{prometheus_port}/api/v1/rules").json()["data"]
    loaded = {rule["name"] for group in rules["groups"] for rule in group["rules"]}
    assert "JobFailureRateHigh" in loaded, "Prometheus did not load the role's alert rules"
