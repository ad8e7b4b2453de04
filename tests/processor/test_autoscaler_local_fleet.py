"""The local pool for real: the controller sizes a pool of ``videoforge worker`` processes
while they transcode 20 short jobs, every job is done exactly once, then the pool shrinks
back to its minimum."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

import pytest

from common.db import session_factory
from common.job_state import JobStatus
from processor.autoscaler.backlog import WorkEstimator
from processor.autoscaler.controller import Controller, Tick
from processor.autoscaler.local_pool import LocalPool
from processor.autoscaler.policy import Autoscaler, ScalingConfig
from processor.autoscaler.signals import SignalReader
from tests.support.aws_resources import AwsResources
from tests.support.media import make_clip

pytest.importorskip("processor.worker")
from tests.support.worker import FAST_ENV, Stack, wait_for, worker_settings  # noqa: E402 — needs the worker

REPO = Path(__file__).resolve().parents[2]
JOBS = 20
MIN, MAX = 1, 3


def test_pool_grows_to_max_runs_every_job_once_and_shrinks_back(
        aws_resources: AwsResources, clean_database: str, settings_env: dict[str, str],
        tmp_path: Path) -> None:
    stack = Stack(worker_settings(aws_resources, clean_database), aws_resources)
    clip = make_clip(tmp_path / "clip.mp4", duration=0.6, size="160x120", rate=10)
    jobs = [stack.submit(clip) for _ in range(JOBS)]

    pool = LocalPool(
        session_factory(clean_database), cwd=str(REPO), id_prefix="fleet",
        env={**os.environ, **settings_env, **FAST_ENV, "PYTHONPATH": str(REPO)},
        drain_timeout_s=30,
    )
    ticks: list[Tick] = []
    controller = Controller(
        reader=SignalReader(broker=stack.broker, sessions=session_factory(clean_database),
                            backend=pool, estimator=WorkEstimator()),
        autoscaler=Autoscaler(ScalingConfig(min_size=MIN, max_size=MAX, messages_per_instance=5,
                                            scale_in_window_s=2.0)),
        backend=pool, interval_s=0.5, on_tick=ticks.append,
    )
    loop = threading.Thread(target=controller.run, name="controller", daemon=True)
    loop.start()
    try:
        def finished() -> bool:
            return all(stack.job(j.id).status.is_terminal for j in jobs)

        wait_for(finished, timeout=150, interval=0.5)
        wait_for(lambda: ticks[-1].observation.fleet.in_service == MIN
                 and len(pool.workers) == MIN, timeout=30, interval=0.2)
    finally:
        controller.stop()
        loop.join(timeout=10)
        pool.close(drain=True)

    assert max(t.observation.fleet.in_service for t in ticks) == MAX
    assert max(t.decision.desired for t in ticks) == MAX
    assert ticks[-1].decision.desired == MIN

    done = [stack.job(j.id) for j in jobs]
    assert [j.status for j in done] == [JobStatus.SUCCEEDED] * JOBS
    assert all(j.attempts == 1 for j in done)
    assert len({j.worker_id for j in done}) > 1  # the work was shared out
    for job in done:  # published once: one row per (kind, quality), all this job's
        assets = stack.assets(job.id)
        assert assets and all(a.job_id == job.id for a in assets)
        assert not [k for k, n in Counter((a.kind, a.quality) for a in assets).items() if n > 1]
    assert stack.queue_empty()
