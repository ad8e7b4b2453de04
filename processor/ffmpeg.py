"""Run one FFmpeg command: progress to a callback, stop on a cancel event or past its budget,
errors as exceptions."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import IO

from processor.errors import BudgetExceeded, Cancelled, TranscodeError
from processor.ffprobe import limit_cpu
from processor.limits import Budget
from processor.progress import ProgressCallback, ProgressParser

_STDERR_TAIL_LINES = 20
# How often the watcher looks at the cancel event and the clock while FFmpeg runs.
_WATCH_POLL_S = 0.1

BASE_ARGS = ("ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error")


def run_ffmpeg(
    args: Sequence[str],
    *,
    duration_s: float = 0.0,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    budget: Budget | None = None,
) -> None:
    """Run ``ffmpeg`` with ``args`` (everything after the program name and global flags).

    Raises :class:`Cancelled` if ``cancel`` is set before FFmpeg exits (FFmpeg is stopped),
    :class:`BudgetExceeded` if it used more CPU or wall time than ``budget``,
    :class:`TranscodeError` with the stderr tail if FFmpeg fails.
    """
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled before FFmpeg started")
    argv = [*BASE_ARGS, "-nostats", "-progress", "pipe:1", *args]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8",
                            errors="replace", bufsize=1)
    assert proc.stdout is not None and proc.stderr is not None
    if budget is not None:
        limit_cpu(proc.pid, budget.cpu_s)
    deadline = time.monotonic() + budget.wall_s if budget is not None else None
    tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
    stopped, timed_out = threading.Event(), threading.Event()
    threads = [threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True),
               threading.Thread(target=_watch, args=(proc, cancel, deadline, stopped, timed_out),
                                daemon=True)]
    for thread in threads:
        thread.start()
    cpu_s = 0.0
    try:
        parser = ProgressParser(duration_s, on_progress) if on_progress else None
        for line in proc.stdout:
            if parser is not None:
                parser.feed(line)
        code, cpu_s = _reap(proc)
    finally:
        stopped.set()
        if proc.returncode is None:  # the progress callback raised: do not leave FFmpeg
            proc.kill()
            _reap(proc)
        for thread in threads:
            thread.join()
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled: FFmpeg was stopped")
    if timed_out.is_set():
        raise BudgetExceeded(f"the encode ran past its {budget.wall_s:.0f} s time budget"
                             if budget else "the encode ran past its time budget")
    if code != 0 and budget is not None and cpu_s >= budget.cpu_s:
        raise BudgetExceeded(f"the encode used more than its {budget.cpu_s:.0f} CPU-second "
                             "budget")
    if code != 0:
        raise TranscodeError(f"ffmpeg exited with status {code}", "\n".join(tail))


def _reap(proc: subprocess.Popen[str]) -> tuple[int, float]:
    """Wait for FFmpeg; its exit code and the CPU-seconds it used (its own rusage)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def _drain(stream: IO[str], tail: deque[str]) -> None:
    for line in stream:
        if line.strip():
            tail.append(line.rstrip())


def _watch(proc: subprocess.Popen[str], cancel: threading.Event | None,
           deadline: float | None, stopped: threading.Event, timed_out: threading.Event
           ) -> None:
    # Only signals FFmpeg; the main thread alone reaps it. Killed outright: on SIGTERM
    # FFmpeg would first flush every encoder (seconds with a slow preset) into outputs
    # that a cancelled, released or over-budget job throws away anyway.
    while not stopped.wait(_WATCH_POLL_S):
        if cancel is not None and cancel.is_set():
            proc.kill()
            return
        if deadline is not None and time.monotonic() > deadline:
            timed_out.set()
            proc.kill()
            return
