"""``videoforge simulate`` run as a subprocess, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.local_stack import ROOT


def simulate_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "videoforge", "simulate", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
