"""``videoforge up`` as a subprocess: its handle, its environment, its stragglers."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

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
        """Ctrl-C as a terminal sends it: SIGINT to the foreground process group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=timeout_s)


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
