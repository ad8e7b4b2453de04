"""The fleet as ``videoforge worker`` processes on this machine.

Each worker gets its own ``VF_WORKER_ID``; a worker is busy while the database shows a
RUNNING job with its id. Scale-in sends SIGTERM to idle workers only (a worker drains its
job on SIGTERM anyway, so a job claimed in the instant between the check and the signal is
still finished). Each observation also converges the pool: exited workers are reaped, a
crashed one is replaced, and a scale-in that found every worker busy is retried.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.job_state import JobStatus
from common.logging import get_logger
from common.models import Job
from processor.autoscaler.backends import FleetState

log = get_logger(__name__)

WORKER_COMMAND: tuple[str, ...] = (sys.executable, "-m", "videoforge", "worker")


@dataclass
class _Worker:
    worker_id: str
    slot: int  # 1..N among live workers: gives each its own metrics port
    process: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.monotonic)
    stopping: bool = False


class LocalPool:
    name = "local"

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        command: Sequence[str] = WORKER_COMMAND,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        id_prefix: str = "pool",
        desired: int = 0,
        drain_timeout_s: float = 900.0,
        metrics_base_port: int = 0,
    ) -> None:
        self.sessions = sessions
        self.command = list(command)
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.id_prefix = f"{id_prefix}-{os.getpid()}"
        self.desired = desired
        self.drain_timeout_s = drain_timeout_s
        self.metrics_base_port = metrics_base_port
        self.workers: list[_Worker] = []
        self.started_total = 0
        self._serial = 0

    # --- FleetBackend -------------------------------------------------------------------
    def observe(self) -> FleetState:
        self._reap()
        busy = self._busy_ids()
        self._converge(busy)
        active = self._active()
        return FleetState(
            desired=self.desired,
            in_service=len(active),
            pending=0,  # a worker process polls within a second of its start
            busy=sum(1 for w in active if w.worker_id in busy),
        )

    def set_desired(self, desired: int) -> None:
        self.desired = max(0, desired)
        self._reap()
        self._converge(self._busy_ids())

    def close(self, *, drain: bool = True) -> None:
        """Stop every worker: SIGTERM and wait ``drain_timeout_s`` for them to drain their jobs
        (or, without ``drain``, not at all), then SIGKILL whatever is left."""
        self.desired = 0
        for worker in self.workers:
            self._terminate(worker, "shutdown")
        deadline = time.monotonic() + (self.drain_timeout_s if drain else 0.0)
        while self._reap() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.kill()

    def kill(self) -> None:
        """SIGKILL every worker at once (second shutdown signal); their jobs go back to the
        queue when their messages become visible again."""
        for worker in self.workers:
            if worker.process.poll() is None:
                # Each worker leads its own session: the group takes its FFmpeg along.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.process.pid, signal.SIGKILL)
        for worker in self.workers:
            worker.process.wait()
        self._reap()

    # --- internals ------------------------------------------------------------------------
    def _active(self) -> list[_Worker]:
        return [w for w in self.workers if not w.stopping]

    def _busy_ids(self) -> set[str]:
        ids = [w.worker_id for w in self.workers]
        if not ids:
            return set()
        with self.sessions() as session:
            rows = session.execute(
                select(Job.worker_id).where(Job.status == JobStatus.RUNNING,
                                            Job.worker_id.in_(ids))
            ).scalars()
            return {r for r in rows if r}

    def _converge(self, busy: set[str]) -> None:
        active = self._active()
        for _ in range(self.desired - len(active)):
            self._spawn()
        excess = len(active) - self.desired
        if excess > 0:
            # Newest idle workers first: the oldest keep their warm caches.
            idle = [w for w in reversed(active) if w.worker_id not in busy]
            for worker in idle[:excess]:
                self._terminate(worker, "scale-in")

    def _spawn(self) -> None:
        self._serial += 1
        worker_id = f"{self.id_prefix}-{self._serial}"
        used = {w.slot for w in self.workers}
        slot = next(n for n in range(1, len(used) + 2) if n not in used)
        # Workers on one machine cannot share a metrics port: base+slot, or none at all.
        port = self.metrics_base_port + slot if self.metrics_base_port else 0
        env = {**self.env, "VF_WORKER_ID": worker_id, "VF_METRICS_PORT": str(port)}
        # A session of its own: a terminal's Ctrl-C reaches the controller only, which
        # then drains the workers in order.
        process = subprocess.Popen(self.command, env=env, cwd=self.cwd, start_new_session=True)
        self.workers.append(_Worker(worker_id, slot, process))
        self.started_total += 1
        log.info("worker_started", worker_id=worker_id, pid=process.pid, metrics_port=port)

    def _terminate(self, worker: _Worker, why: str) -> None:
        if worker.stopping or worker.process.poll() is not None:
            worker.stopping = True
            return
        worker.stopping = True
        worker.process.send_signal(signal.SIGTERM)
        log.info("worker_stopping", worker_id=worker.worker_id, pid=worker.process.pid,
                 reason=why)

    def _reap(self) -> list[_Worker]:
        """Forget exited workers; returns the ones still running."""
        running = []
        for worker in self.workers:
            code = worker.process.poll()
            if code is None:
                running.append(worker)
            elif worker.stopping:
                log.info("worker_exited", worker_id=worker.worker_id, exit_code=code)
            else:
                log.warning("worker_died", worker_id=worker.worker_id, exit_code=code)
        self.workers = running
        return running
