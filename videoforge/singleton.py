"""At most one holder of a name across machines: a PostgreSQL session advisory lock.

The autoscaler must run once per fleet (two would fight over the desired capacity) and
migrations once per release, yet the control group may run several instances, and an Auto
Scaling replacement can overlap the instance it replaces. So each takes the lock named for
its job on a connection of its own, holds it while it runs, and whoever comes second
waits.

The lock lives exactly as long as that database session. A holder that dies is noticed by
the server's TCP keepalives (set per session below): its session ends and the lock frees
within ``SERVER_RELEASE_S``. A holder that loses its connection (a partition, a database
failover) notices within ``CLIENT_DETECT_S`` and stops its work, before the server frees
the lock for the next one.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from common.logging import get_logger

log = get_logger(__name__)

# Server side (per session; PostgreSQL "Connection Settings"): idle seconds before the
# first probe, seconds between probes, unanswered probes before the session is dropped.
KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT = 10, 5, 3
SERVER_RELEASE_S = KEEPALIVE_IDLE_S + KEEPALIVE_INTERVAL_S * KEEPALIVE_COUNT   # 25 s
# Client side: the holder checks its session this often, and a check whose bytes go
# unacknowledged this long fails (libpq tcp_user_timeout).
CHECK_INTERVAL_S = 5.0
CHECK_TIMEOUT_S = 8.0
CLIENT_DETECT_S = CHECK_INTERVAL_S + CHECK_TIMEOUT_S                            # 13 s
assert CLIENT_DETECT_S < SERVER_RELEASE_S, "a cut-off holder must stop before the lock frees"


class NotPostgres(ValueError):
    """The lock needs PostgreSQL (SQLite runs on one machine and needs none)."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(f"videoforge:{name}".encode()).digest()[:8], "big",
                          signed=True)


def conninfo(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise NotPostgres(f"a singleton lock needs PostgreSQL, not {url.get_backend_name()}")
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


class SingletonLock:
    """``acquire`` (waiting while someone else holds it), ``held`` to check, ``release``."""

    def __init__(self, database_url: str, name: str, *, holder: str) -> None:
        self.name, self.holder = name, holder
        self.key = lock_key(name)
        self._conninfo = conninfo(database_url)
        self._conn: psycopg.Connection[Any] | None = None

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(
            self._conninfo, autocommit=True, connect_timeout=10,
            application_name=f"videoforge-{self.name}:{self.holder}"[:63],
            keepalives=1, keepalives_idle=KEEPALIVE_IDLE_S,
            keepalives_interval=KEEPALIVE_INTERVAL_S, keepalives_count=KEEPALIVE_COUNT,
            tcp_user_timeout=int(CHECK_TIMEOUT_S * 1000))
        for setting, value in (("tcp_keepalives_idle", KEEPALIVE_IDLE_S),
                               ("tcp_keepalives_interval", KEEPALIVE_INTERVAL_S),
                               ("tcp_keepalives_count", KEEPALIVE_COUNT)):
            conn.execute(f"SET {setting} = {int(value)}")
        return conn

    def try_acquire(self) -> bool:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        return bool(row and row[0])

    def acquire(self, *, poll_s: float = 5.0, stop: threading.Event | None = None) -> bool:
        """Wait for the lock; False if ``stop`` is set first."""
        stop = stop or threading.Event()
        waiting_since = None
        while not stop.is_set():
            try:
                if self.try_acquire():
                    log.info("singleton_acquired", lock=self.name, holder=self.holder)
                    return True
            except psycopg.OperationalError as exc:
                self._drop()
                log.warning("singleton_database_unreachable", lock=self.name,
                            error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            else:
                if waiting_since is None:
                    waiting_since = time.monotonic()
                    log.info("singleton_waiting", lock=self.name, holder=self.holder,
                             held_by=self.current_holder())
            stop.wait(poll_s)
        return False

    def current_holder(self) -> str | None:
        """The application name of the session that holds the lock, if one does."""
        if self._conn is None:
            return None
        row = self._conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
            "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = %s", (self.key,)).fetchone()
        return str(row[0]) if row else None

    def held(self) -> bool:
        """True while our session is alive (and so still holds the lock)."""
        if self._conn is None or self._conn.closed:
            return False
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None and not self._conn.closed:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None


class Watchdog(threading.Thread):
    """Checks a held lock every ``interval_s``; calls ``on_lost`` once if it goes."""

    def __init__(self, lock: SingletonLock, on_lost: Callable[[], None], *,
                 interval_s: float = CHECK_INTERVAL_S) -> None:
        super().__init__(name=f"singleton-{lock.name}", daemon=True)
        self.lock, self.on_lost, self.interval_s = lock, on_lost, interval_s
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            if not self.lock.held():
                log.error("singleton_lost", lock=self.lock.name, holder=self.lock.holder)
                self.on_lost()
                return

    def stop(self) -> None:
        self._stopping.set()
