"""``videoforge up`` refuses what it cannot do before starting anything."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.support.local_stack import ROOT, subprocess_env


def _up(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "videoforge", "up", "--data-dir", str(tmp_path), *args],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=60,
    )


def test_a_busy_port_is_refused_with_a_hint(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _up("--port", str(port), tmp_path=tmp_path)
    assert done.returncode == 1
    assert f"error: port {port} on 127.0.0.1 is in use: pass --port" in done.stderr
    assert not (tmp_path / "logs").exists()  # nothing was started


def test_no_workers_is_bad_input(tmp_path: Path) -> None:
    done = _up("--max-workers", "0", tmp_path=tmp_path)
    assert done.returncode == 2 and "error: --max-workers must be at least 1" in done.stderr
