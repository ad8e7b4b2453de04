"""``videoforge up`` as a subprocess: its handle, its environment, its stragglers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from videoforge.stack.net import free_port

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "Stack-Test-Pw1!"
UP_TIMEOUT_S = 90


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    url: str
    marker: str          # in every process's environment: finds stragglers
    env: dict[str, str]
    data_dir: Path
    output: list[str] = field(default_factory=list)
    user: str = "demo"
    password: str = DEMO_PASSWORD

    def text(self) -> str:
        return "".join(self.output)

    def stop(self, timeout_s: float = 60) -> int:
        """Ctrl-C as a terminal sends it: SIGINT to the foreground process group. A stack
        that does not stop in time is killed, all of it, before the test fails."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        for pid in [self.process.pid, *processes_with(self.marker)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()


def processes_with(marker: str) -> list[int]:
    """Live processes whose environment carries ``marker`` (ours, from that stack)."""
    found = []
    needle = f"VF_STACK_TEST_MARKER={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VF_") and not k.startswith("AWS_")}
    env.update(PYTHONPATH=str(ROOT), VF_ENV="test", **extra)
    return env


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
