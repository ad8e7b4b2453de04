"""A small process supervisor for the local stack: start children, stop them all cleanly.

Each child runs in its own session (its own process group), so a terminal's Ctrl-C reaches
only ``videoforge up``, which then stops the children in reverse start order: the
autoscaler first (it drains its workers), then the HTTP services, then moto. A child that
does not stop within its timeout is killed together with its process group and every
descendant seen while it ran, so nothing is left behind. On Linux each child also gets
SIGTERM if ``videoforge up`` itself dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from common.logging import get_logger

log = get_logger(__name__)

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# How long a straggler (a descendant left running after its parent stopped) gets between
# SIGTERM and SIGKILL.
STRAGGLER_GRACE_S = 3.0


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM when the parent goes away."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except OSError:
            pass


def _stat_fields(pid: int | str) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may contain spaces)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


# A process is identified by pid AND start time, so a recycled pid is never mistaken
# for a straggler of ours. Field 22 of /proc/PID/stat is the start time (proc(5)).
ProcessId = tuple[int, str]


def descendants(pid: int) -> set[ProcessId]:
    """Every live descendant of ``pid`` (read from /proc; empty where there is none)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return set()
    parents: dict[int, list[ProcessId]] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(entry.name)):
            parents.setdefault(int(fields[1]), []).append((int(entry.name), fields[19]))
    found: set[ProcessId] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child[0])
    return found


def alive(process: ProcessId) -> bool:
    """True while that very process runs (a zombie has exited; a reused pid is not it)."""
    fields = _stat_fields(process[0])
    return fields is not None and fields[0] != "Z" and fields[19] == process[1]


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    stop_timeout_s: float
    log_path: Path | None
    seen: set[ProcessId] = field(default_factory=set)  # descendants observed while running

    @property
    def pid(self) -> int:
        return self.process.pid

    def remember_descendants(self) -> None:
        if self.process.poll() is None:
            self.seen |= descendants(self.pid)


class ChildExited(RuntimeError):
    def __init__(self, child: Child) -> None:
        tail = ""
        if child.log_path and child.log_path.exists():
            lines = child.log_path.read_text(errors="replace").splitlines()[-15:]
            tail = "\n" + "\n".join(f"  | {line}" for line in lines)
        super().__init__(
            f"{child.name} exited with code {child.process.returncode}"
            + (f" (log: {child.log_path}){tail}" if child.log_path else "")
        )
        self.child = child


class Supervisor:
    """Starts children and guarantees that :meth:`stop_all` leaves none of them running."""

    def __init__(self, *, log_dir: Path | None = None) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stop_timeout_s: float = 20.0,
    ) -> Child:
        log_path: Path | None = None
        out: IO[bytes] | int = subprocess.DEVNULL
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log_path = self.log_dir / f"{name}.log"
            out = log_path.open("ab")
        try:
            process = subprocess.Popen(
                list(argv), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            if not isinstance(out, int):
                out.close()
        child = Child(name, process, stop_timeout_s, log_path)
        self.children.append(child)
        log.debug("started", child=name, pid=process.pid)
        return child

    def check(self) -> None:
        """Raise :class:`ChildExited` if a child has stopped on its own."""
        for child in self.children:
            child.remember_descendants()
            if child.process.poll() is not None:
                raise ChildExited(child)

    def wait_until(
        self, ready: Callable[[], bool], *, timeout_s: float, what: str, interval_s: float = 0.2
    ) -> None:
        """Poll ``ready`` until true; fail early if a child dies meanwhile."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.check()
            if ready():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not ready after {timeout_s:.0f} s")
            time.sleep(interval_s)

    def watch(self, *, interval_s: float = 1.0) -> None:
        """Block until a child exits on its own (raises ChildExited) or a signal arrives."""
        while True:
            self.check()
            time.sleep(interval_s)

    def stop_all(self) -> None:
        """Stop the children, last started first; kill whatever outlives its timeout."""
        for child in reversed(self.children):
            self._stop(child)
        self.children.clear()

    def _stop(self, child: Child) -> None:
        child.remember_descendants()
        if child.process.poll() is None:
            log.debug("stopping", child=child.name, pid=child.pid)
            _signal_group(child.pid, signal.SIGTERM, leader_only=True)
            try:
                child.process.wait(timeout=child.stop_timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("killing", child=child.name, pid=child.pid)
                _signal_group(child.pid, signal.SIGKILL, leader_only=False)
                child.process.wait()
        # Descendants that outlived their parent (or left its group) go too. Only those
        # seen while the child ran: its pid may already belong to someone else.
        stragglers = [p for p in child.seen if alive(p)]
        if stragglers:
            for pid, _ in stragglers:
                _kill(pid, signal.SIGTERM)
            stragglers = _wait_gone(stragglers, timeout_s=STRAGGLER_GRACE_S)
            for pid, _ in stragglers:
                _kill(pid, signal.SIGKILL)
            _wait_gone(stragglers, timeout_s=STRAGGLER_GRACE_S)


def _signal_group(pid: int, sig: signal.Signals, *, leader_only: bool) -> None:
    if leader_only:
        _kill(pid, sig)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _kill(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _wait_gone(processes: list[ProcessId], *, timeout_s: float) -> list[ProcessId]:
    """Wait until none of ``processes`` runs; returns those still running at the timeout."""
    deadline = time.monotonic() + timeout_s
    while (processes := [p for p in processes if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return processes
