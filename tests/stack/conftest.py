"""``videoforge up`` as a subprocess, shared by the tests of this folder (one start)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.local_stack import (
    DEMO_PASSWORD,
    ROOT,
    UP_TIMEOUT_S,
    RunningStack,
    subprocess_env,
)
from videoforge.stack.net import free_port


def launch_stack(data_dir: Path, *, port: int | None = None, marker: str | None = None,
                 extra: tuple[str, ...] = ("--sample",)) -> RunningStack:
    """``videoforge up`` on ``data_dir`` in its own process group; returns once it says it
    is up (fails the test, with its logs, if it does not)."""
    marker = marker or uuid.uuid4().hex
    port = port or free_port()
    env = subprocess_env(VF_STACK_TEST_MARKER=marker, VF_DEMO_PASSWORD=DEMO_PASSWORD)
    process = subprocess.Popen(
        [sys.executable, "-m", "videoforge", "up", "--port", str(port),
         "--data-dir", str(data_dir), "--max-workers", "1", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group, like a job in a terminal
    )
    running = RunningStack(process, f"http://127.0.0.1:{port}", marker, env, data_dir)
    up = threading.Event()

    def read() -> None:
        assert process.stdout
        for line in process.stdout:
            running.output.append(line)
            if "VideoForge is up" in line:
                up.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + UP_TIMEOUT_S
    while not up.wait(0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            running.stop()
            logs = "\n".join(p.read_text()[-3000:] for p in (data_dir / "logs").glob("*.log"))
            pytest.fail(f"videoforge up did not start:\n{running.text()}\n{logs}")
    return running


def needs_the_platform() -> None:
    pytest.importorskip("gateway.app", reason="the gateway is not merged yet")
    pytest.importorskip("processor.worker", reason="the worker is not merged yet")
    pytest.importorskip("processor.autoscaler.local_pool", reason="the autoscaler is not merged")


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    needs_the_platform()
    running = launch_stack(tmp_path_factory.mktemp("stack"))
    yield running
    running.stop()
