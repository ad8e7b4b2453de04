"""The local pool's mechanics with stand-in worker processes (a sleeping Python process
that exits on SIGTERM): spawning, busy detection from the database, scale-in of idle
workers only, replacement of a crashed worker, shutdown. The pool with real workers
running real jobs is in test_autoscaler_local_fleet.py."""

from __future__ import annotations

import signal
import sys
import time
from datetime import timedelta

from common import job_state
from common.db import session_factory, transaction
from common.models import GalleryVideo, Job, VideoStatus
from processor.autoscaler.local_pool import LocalPool

# Exits 0 on SIGTERM (Python's default would be -15, which the pool logs as a death).
STAND_IN = [sys.executable, "-c",
            "import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
            "time.sleep(120)\n"]


def _wait_for(predicate, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _hold_job(database_url: str, worker_id: str) -> str:
    with transaction(session_factory(database_url)) as session:
        video = GalleryVideo(owner_id="u1", status=VideoStatus.PROCESSING)
        session.add(video)
        session.flush()
        job = Job(video_id=video.id, owner_id="u1")
        session.add(job)
        session.flush()
        assert job_state.claim(session, job_id=job.id, worker_id=worker_id,
                               stale_after=timedelta(minutes=5))
        return job.id


def test_pool_grows_and_scales_in_idle_workers_only(clean_database: str) -> None:
    pool = LocalPool(session_factory(clean_database), command=STAND_IN, id_prefix="t",
                     drain_timeout_s=5)
    try:
        pool.set_desired(3)
        state = pool.observe()
        assert (state.desired, state.in_service, state.busy) == (3, 3, 0)
        ids = [w.worker_id for w in pool.workers]
        assert len(set(ids)) == 3

        busy_id = ids[-1]  # the pool would pick the newest idle worker first
        job_id = _hold_job(clean_database, busy_id)
        assert pool.observe().busy == 1

        pool.set_desired(1)
        _wait_for(lambda: len(pool._reap()) == 1)
        assert [w.worker_id for w in pool.workers] == [busy_id]
        assert pool.observe().in_service == 1

        pool.set_desired(0)  # the only worker is busy: it stays
        assert pool.observe().in_service == 1 and pool.workers[0].process.poll() is None

        with transaction(session_factory(clean_database)) as session:
            job_state.succeed(session, job_id=job_id, worker_id=busy_id)
        assert pool.observe().in_service == 0  # idle now: stopped on the next look
        _wait_for(lambda: not pool._reap())
    finally:
        pool.close(drain=False)


def test_crashed_worker_is_replaced_and_close_stops_all(clean_database: str) -> None:
    pool = LocalPool(session_factory(clean_database), command=STAND_IN, id_prefix="t",
                     drain_timeout_s=5)
    try:
        pool.set_desired(2)
        victim = pool.workers[0]
        victim.process.kill()
        victim.process.wait()
        state = pool.observe()
        assert state.in_service == 2 and pool.started_total == 3
        assert victim not in pool.workers
        processes = [w.process for w in pool.workers]
    finally:
        pool.close(drain=True)
    assert pool.workers == []
    # Stopped by SIGTERM (before or after the stand-in installed its handler), not killed.
    assert all(p.returncode in (0, -signal.SIGTERM) for p in processes)
