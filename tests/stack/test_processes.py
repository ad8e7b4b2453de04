"""The supervisor stops every child it started, in reverse order, and nothing survives."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from videoforge.stack.processes import ChildExited, Supervisor, alive, descendants

# A child that records its SIGTERM in a shared file, then exits.
POLITE = textwrap.dedent("""
    import signal, sys, time
    name, record = sys.argv[1], sys.argv[2]
    def stop(*_):
        with open(record, "a") as f:
            f.write(name + "\\n")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    while True:
        time.sleep(0.1)
""")

# A child that ignores SIGTERM and leaves a grandchild in a session of its own.
STUBBORN = textwrap.dedent("""
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                     start_new_session=True)
    print("ready", flush=True)
    while True:
        time.sleep(0.1)
""")


def _ready(log: Path) -> bool:
    return log.exists() and "ready" in log.read_text()


def test_stop_all_goes_in_reverse_start_order(tmp_path: Path) -> None:
    record = tmp_path / "stopped.txt"
    supervisor = Supervisor(log_dir=tmp_path / "logs")
    for name in ("moto", "gateway", "autoscaler"):
        supervisor.start(name, [sys.executable, "-c", POLITE, name, str(record)])
        supervisor.wait_until(lambda n=name: _ready(tmp_path / "logs" / f"{n}.log"),
                              timeout_s=20, what=name)
    pids = [c.pid for c in supervisor.children]
    supervisor.stop_all()
    assert record.read_text().split() == ["autoscaler", "gateway", "moto"]
    assert not any(alive((pid, "")) for pid in pids)


def test_a_stubborn_child_and_its_detached_grandchild_are_killed(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path / "logs")
    child = supervisor.start("stubborn", [sys.executable, "-c", STUBBORN], stop_timeout_s=1)
    supervisor.wait_until(lambda: _ready(tmp_path / "logs" / "stubborn.log"),
                          timeout_s=20, what="stubborn")
    supervisor.check()  # records the grandchild while the child runs
    family = descendants(child.pid)
    assert family, "the grandchild should be running"
    started = time.monotonic()
    supervisor.stop_all()
    assert time.monotonic() - started < 10
    assert child.process.returncode is not None
    assert not [p for p in family if alive(p)]


def test_a_child_that_dies_is_reported_with_its_log(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path / "logs")
    supervisor.start("broken", [sys.executable, "-c", "print('no config'); raise SystemExit(3)"])
    with pytest.raises(ChildExited, match="broken exited with code 3") as info:
        supervisor.wait_until(lambda: False, timeout_s=20, what="broken")
    assert "no config" in str(info.value)
    supervisor.stop_all()
