"""``videoforge singleton``: one holder per name across processes (and so machines), on
the real PostgreSQL; a holder whose session is cut stops its command."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import psycopg
import pytest

from videoforge.singleton import (
    CLIENT_DETECT_S,
    SERVER_RELEASE_S,
    SingletonLock,
    Watchdog,
    conninfo,
    lock_key,
)

VIDEOFORGE = [sys.executable, "-m", "videoforge"]


def _name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def _terminate(database_url: str, lock: SingletonLock) -> None:
    """Cut the holder's session from the server side, as a failover or a partition would."""
    with psycopg.connect(conninfo(database_url), autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND ((classid::bigint << 32) | objid::bigint) = %s",
            (lock.key,)).fetchall()
    assert killed, "nobody held the lock"


def test_one_holder_at_a_time_and_the_next_one_takes_over(database_url: str) -> None:
    name = _name()
    first = SingletonLock(database_url, name, holder="first")
    second = SingletonLock(database_url, name, holder="second")
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert second.current_holder() == f"videoforge-{name}:first"
        assert first.held()
        first.release()
        assert second.try_acquire()
        assert second.current_holder() == f"videoforge-{name}:second"
    finally:
        first.release()
        second.release()
    assert lock_key(name) == lock_key(name) != lock_key(name + "x")


def test_a_cut_session_is_noticed_and_the_lock_goes_to_the_next(database_url: str) -> None:
    # The holder stops before the server would free the lock of a holder that vanished.
    assert CLIENT_DETECT_S < SERVER_RELEASE_S
    name = _name()
    holder, waiter = (SingletonLock(database_url, name, holder=h) for h in ("a", "b"))
    lost = threading.Event()
    assert holder.try_acquire()
    watchdog = Watchdog(holder, lost.set, interval_s=0.2)
    watchdog.start()
    try:
        _terminate(database_url, holder)
        assert lost.wait(10), "the holder did not notice its lock was gone"
        assert waiter.acquire(poll_s=0.2, stop=_timeout(10))
    finally:
        watchdog.stop()
        holder.release()
        waiter.release()


def _timeout(seconds: float) -> threading.Event:
    event = threading.Event()
    threading.Timer(seconds, event.set).start()
    return event


def _wait_for_session(database_url: str, prefix: str, *, not_holder: str) -> None:
    """Until another process has connected to wait for the lock (imports take a while)."""
    deadline = time.monotonic() + 60
    with psycopg.connect(conninfo(database_url), autocommit=True) as admin:
        while not admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s "
                "AND application_name <> %s", (prefix + "%", prefix + not_holder)).fetchall():
            assert time.monotonic() < deadline, "the command never asked for the lock"
            time.sleep(0.2)


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "VF_DATABASE_URL": database_url, "VF_ENV": "test", **extra}


def test_the_command_waits_for_the_lock_then_runs(database_url: str) -> None:
    held = SingletonLock(database_url, "migrate", holder="someone-else")
    assert held.try_acquire()
    process = subprocess.Popen([*VIDEOFORGE, "singleton", "--poll", "0.2", "migrate", "--",
                                "migrate"], env=_env(database_url), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_session(database_url, "videoforge-migrate:", not_holder="someone-else")
        time.sleep(1)
        assert process.poll() is None, process.communicate()
    finally:
        held.release()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "schema at head" in out
    assert "singleton_waiting" in err and "someone-else" in err


def test_losing_the_lock_stops_the_command_with_exit_75(database_url: str) -> None:
    name = _name()
    process = subprocess.Popen(
        [*VIDEOFORGE, "singleton", "--kill-after", "20", name, "--", "notifier"],
        env=_env(database_url, VF_NOTIFIER_METRICS_PORT="0", VF_NOTIFIER_DRAIN_TIMEOUT_S="1"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        probe = SingletonLock(database_url, name, holder="probe")
        deadline = time.monotonic() + 30
        while probe.try_acquire() or probe.current_holder() is None:
            probe.release()
            assert time.monotonic() < deadline and process.poll() is None, process.communicate()
            time.sleep(0.2)
        _terminate(database_url, probe)
        _, err = process.communicate(timeout=CLIENT_DETECT_S + 20)
        assert process.returncode == 75, err
        assert "singleton_lost" in err
        probe.release()
    finally:
        if process.poll() is None:
            process.kill()


def test_sqlite_is_refused_with_a_clear_error() -> None:
    done = subprocess.run([*VIDEOFORGE, "singleton", "x", "--", "migrate"],
                          env=_env("sqlite:///nowhere.db"), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "needs PostgreSQL" in done.stderr


@pytest.mark.parametrize("argv", [["singleton", "x"], ["singleton", "x", "--"]])
def test_a_missing_command_is_bad_input(argv: list[str], database_url: str) -> None:
    done = subprocess.run([*VIDEOFORGE, *argv], env=_env(database_url), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "give the command after --" in done.stderr
