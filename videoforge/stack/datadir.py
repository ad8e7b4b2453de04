"""The local stack's data directory: what lives where, and the lock that keeps a second
``videoforge up`` out of a directory already in use.

The lock is an ``flock`` on ``DIR/lock``, held for as long as ``up`` runs: the kernel drops
it when the process ends, however it ends, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO


class DataDirInUse(RuntimeError):
    """Another process holds the data directory."""


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "videoforge.db"

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def identity(self) -> Path:
        return self.root / "identity"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def lock_path(self) -> Path:
        return self.root / "lock"


class DataDirLock:
    """``with DataDirLock(data_dir):`` — or :meth:`acquire` / :meth:`release`."""

    def __init__(self, data_dir: DataDir) -> None:
        self.data_dir = data_dir
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.data_dir.root.mkdir(parents=True, exist_ok=True)
        handle = self.data_dir.lock_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DataDirInUse(
                f"{self.data_dir.root} is in use by a running `videoforge up` ({holder}): "
                "stop that one first, or pass another --data-dir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.seek(0)
                self._file.truncate()
            self._file.close()  # closing the last descriptor drops the flock
            self._file = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
