"""Priority and fair share through real ``videoforge worker`` processes on the real (moto)
queue: the order jobs start in is the scheduler's, whatever token woke each worker."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from common.job_state import JobStatus
from common.models import Job
from tests.support.worker import HeldWakeUps, Stack, wait_for

Spawn = Callable[..., subprocess.Popen[bytes]]
Clip = Callable[[str], Path]


def _finished(stack: Stack, jobs: list[Job], *, timeout: float = 120) -> list[Job]:
    done = [stack.job(job.id) for job in jobs]
    assert all(j.status == JobStatus.SUCCEEDED for j in done), [j.status for j in done]
    return done


def _start_order(jobs: list[Job]) -> list[str]:
    return [j.id for j in sorted(jobs, key=lambda j: j.started_at)]  # type: ignore[arg-type, return-value]


def test_one_worker_runs_priority_first_then_users_in_turn(
        stack: Stack, clip: Clip, spawn: Spawn) -> None:
    small = clip("small")
    a = [stack.submit(small, owner="alice") for _ in range(3)]
    b = stack.submit(small, owner="bob")
    urgent = stack.submit(small, owner="carol", priority=5)  # submitted last

    worker = spawn("only-worker", "--burst")
    assert worker.wait(timeout=180) == 0

    done = _finished(stack, [*a, b, urgent])
    # Carol's priority first; then Alice's oldest; then Bob, not after all of Alice's.
    assert _start_order(done) == [urgent.id, a[0].id, b.id, a[1].id, a[2].id]
    assert stack.queue_empty()


def test_a_backlog_does_not_block_another_user_and_uses_every_worker(
        stack: Stack, long_clip: Path, spawn: Spawn, tmp_path: Path) -> None:
    # Both workers wait on the queue before any wake-up is sent, and every job is in the
    # database by then: the second claim is the scheduler's choice, however slowly
    # either worker started on a loaded machine.
    workers = [spawn(f"worker-{i}") for i in range(2)]
    for i, worker in enumerate(workers):
        wait_for(lambda i=i, w=worker: w.poll() is not None
                 or "worker_started" in (tmp_path / f"worker-{i}.log").read_text(),
                 timeout=60, interval=0.05)
        assert worker.poll() is None, (tmp_path / f"worker-{i}.log").read_text()
    held = HeldWakeUps()
    backlog = [stack.submit(long_clip, owner="alice", broker=held) for _ in range(4)]
    single = stack.submit(long_clip, owner="bob", broker=held)  # after all of Alice's
    held.release(stack.broker)

    ids = [j.id for j in [*backlog, single]]
    wait_for(lambda: all(JobStatus(stack.job(i).status).is_terminal for i in ids),
             timeout=180, interval=0.2)
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    assert [w.wait(timeout=60) for w in workers] == [0, 0]

    done = _finished(stack, [*backlog, single])
    order = _start_order(done)
    assert order.index(single.id) == 1  # the second free worker takes Bob's job
    assert {j.worker_id for j in done} == {"worker-0", "worker-1"}
    # Work-conserving: Alice's backlog alone kept both workers busy at the same time.
    alice = sorted((j for j in done if j.owner_id == "alice"),
                   key=lambda j: j.started_at)  # type: ignore[arg-type, return-value]
    assert any(later.started_at < earlier.finished_at  # type: ignore[operator]
               for earlier, later in zip(alice, alice[1:], strict=False))
    assert stack.queue_empty()
