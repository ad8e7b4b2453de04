"""``videoforge serve --workers N``: the workers' metrics are one sum on one listener."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from videoforge.stack.net import free_port

ROOT = Path(__file__).resolve().parents[2]
_HEALTHZ_200 = re.compile(
    r'^videoforge_http_requests_total\{method="GET",route="/healthz",service="gateway",'
    r'status="200"\} ([0-9.e+]+)$', re.M)


def _wait_until_up(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()[1].decode()[-2000:]
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.2)


# prometheus_client's file begins with 4 bytes saying how much of it is used.
_USED_HEADER_BYTES = 4


def _healthz_count(counter_file: Path, scratch: Path) -> float:
    """The /healthz count in one worker's file alone (collected from a copy of it)."""
    alone = scratch / f"alone-{counter_file.stem}"
    alone.mkdir(exist_ok=True)
    shutil.copy(counter_file, alone / counter_file.name)
    if (alone / counter_file.name).stat().st_size < _USED_HEADER_BYTES:
        return 0.0  # caught between the worker creating its file and sizing it: no counts
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(alone))
    found = _HEALTHZ_200.search(generate_latest(registry).decode())
    return float(found.group(1)) if found else 0.0


def test_two_workers_counters_sum_on_one_listener(settings_env, tmp_path) -> None:
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, **settings_env, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path),
           "VF_GATEWAY_METRICS_PORT": str(metrics_port)}
    stale = tmp_path / "videoforge-metrics" / f"gateway-{port}"
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"a previous run's counts")
    process = subprocess.Popen(
        [sys.executable, "-m", "videoforge", "serve", "gateway", "--port", str(port),
         "--workers", "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        _wait_until_up(process, url)
        sent = 1
        # A new connection per request, until two workers have each answered some.
        while sum(_healthz_count(f, tmp_path) > 0 for f in stale.glob("counter_*.db")) < 2:
            assert sent < 2000, "one worker answered every request"
            for _ in range(10):
                assert httpx.get(url, headers={"Connection": "close"}).status_code == 200
            sent += 10
        assert not (stale / "counter_1.db").exists()  # emptied at start
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert float(_HEALTHZ_200.search(scraped).group(1)) == sent
    finally:
        process.terminate()
        process.communicate(timeout=20)
