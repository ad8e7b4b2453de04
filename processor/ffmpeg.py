"""Run one FFmpeg command: progress to a callback, stop on a cancel event, errors as exceptions."""

from __future__ import annotations

import subprocess
import threading
from collections import deque
from collections.abc import Sequence
from typing import IO

from processor.errors import Cancelled, TranscodeError
from processor.progress import ProgressCallback, ProgressParser

_STDERR_TAIL_LINES = 20
# How often the cancel watcher looks at the event while FFmpeg runs.
_CANCEL_POLL_S = 0.1

BASE_ARGS = ("ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error")


def run_ffmpeg(
    args: Sequence[str],
    *,
    duration_s: float = 0.0,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Run ``ffmpeg`` with ``args`` (everything after the program name and global flags).

    Raises :class:`Cancelled` if ``cancel`` is set before FFmpeg exits (FFmpeg is stopped),
    :class:`TranscodeError` with the stderr tail if FFmpeg fails.
    """
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled before FFmpeg started")
    argv = [*BASE_ARGS, "-nostats", "-progress", "pipe:1", *args]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8",
                            errors="replace", bufsize=1)
    assert proc.stdout is not None and proc.stderr is not None
    tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
    stopped = threading.Event()
    threads = [threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True)]
    if cancel is not None:
        threads.append(threading.Thread(target=_watch_cancel, args=(proc, cancel, stopped),
                                        daemon=True))
    for thread in threads:
        thread.start()
    try:
        parser = ProgressParser(duration_s, on_progress) if on_progress else None
        for line in proc.stdout:
            if parser is not None:
                parser.feed(line)
        code = proc.wait()
    finally:
        stopped.set()
        if proc.poll() is None:  # the progress callback raised: do not leave FFmpeg behind
            _stop(proc)
        for thread in threads:
            thread.join()
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled: FFmpeg was stopped")
    if code != 0:
        raise TranscodeError(f"ffmpeg exited with status {code}", "\n".join(tail))


def _drain(stream: IO[str], tail: deque[str]) -> None:
    for line in stream:
        if line.strip():
            tail.append(line.rstrip())


def _watch_cancel(proc: subprocess.Popen[str], cancel: threading.Event,
                  stopped: threading.Event) -> None:
    while not stopped.is_set():
        if cancel.wait(_CANCEL_POLL_S):
            _stop(proc)
            return


def _stop(proc: subprocess.Popen[str]) -> None:
    # Killed outright: on SIGTERM FFmpeg would first flush every encoder (seconds with a
    # slow preset) into outputs that a cancelled or released job throws away anyway.
    proc.kill()
    proc.wait()
