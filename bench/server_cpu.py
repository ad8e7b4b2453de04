"""CPU time spent serving a benchmark: the server process with its workers, and the
PostgreSQL backends connected to the benchmark's database (so that moving work into SQL
does not look like a gain). Read from /proc: PostgreSQL must run on this machine.

CPU time, unlike latency, barely depends on what else the machine runs, so it is the
figure that stays comparable on a shared machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psycopg

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _ticks(pid: int) -> int:
    """User + system clock ticks of one process so far (0 if it is gone)."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(entry.name)[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _backends(database_url: str) -> list[int]:
    """The PostgreSQL backend processes serving ``database_url``'s database."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = "
                            "current_database() AND pid <> pg_backend_pid()").fetchall()
    return [int(pid) for (pid,) in rows]


@dataclass(frozen=True)
class Snapshot:
    app: dict[int, int]       # pid -> ticks: the server and its worker processes
    database: dict[int, int]  # pid -> ticks: the database's backends


@dataclass(frozen=True)
class CpuUsed:
    app_s: float
    database_s: float


class CpuMeter:
    """CPU used between two snapshots. A process that appears in between counts whole
    (a backend opened during the run did its start-up for the run)."""

    def __init__(self, server_pid: int, database_url: str) -> None:
        self.server_pid = server_pid
        self.database_url = database_url

    def snapshot(self) -> Snapshot:
        app = [self.server_pid, *_children(self.server_pid)]
        return Snapshot({pid: _ticks(pid) for pid in app},
                        {pid: _ticks(pid) for pid in _backends(self.database_url)})

    def since(self, before: Snapshot) -> CpuUsed:
        after = self.snapshot()

        def used(start: dict[int, int], end: dict[int, int]) -> float:
            return sum(max(0, ticks - start.get(pid, 0)) for pid, ticks in end.items()) * _TICK_S

        return CpuUsed(used(before.app, after.app), used(before.database, after.database))
