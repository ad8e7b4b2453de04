"""Keeping a running job alive: the message stays invisible, the row shows progress.

A background thread wakes every ``interval_s``: it extends the SQS message's visibility
(so a long job is never delivered twice) and writes liveness plus the latest progress to
the job row (so the row is written at a bounded rate, however often FFmpeg reports). The
row's answer tells the worker to stop: the job was cancelled, or another worker owns it.
For a chunked job's task (``task_id``) the task's row is beaten, which beats its job
(``common.task_state.heartbeat``); a job that was cancelled or ended meanwhile stops it
as a cancel, whoever owns the task.
"""

from __future__ import annotations

import contextvars
import enum
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from common import job_state, task_state
from common.broker import Broker, Delivery
from common.db import transaction
from common.logging import get_logger
from processor.metrics import ENCODE_SPEED

if TYPE_CHECKING:
    from processor.progress import Progress

log = get_logger(__name__)


class StopReason(enum.StrEnum):
    CANCEL_REQUESTED = "cancel_requested"  # the user cancelled: publish nothing
    LOST = "lost"  # another worker owns the job now: publish nothing, keep the message
    SHUTDOWN = "shutdown"  # the worker is stopping: give the job back


class StopSignal:
    """Why the current job must stop. ``event`` is what FFmpeg's runner watches; the first
    reason given wins."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason: StopReason | None = None
        self._lock = threading.Lock()

    def request(self, reason: StopReason) -> None:
        with self._lock:
            if self.reason is None:
                self.reason = reason
        self.event.set()


class HeartbeatThread:
    """Use as a context manager around the work on one claimed job."""

    def __init__(
        self,
        *,
        broker: Broker,
        delivery: Delivery,
        sessions: sessionmaker[Session],
        job_id: str,
        worker_id: str,
        interval_s: float,
        visibility_timeout_s: int,
        stop: StopSignal,
        task_id: str | None = None,
    ) -> None:
        self.broker = broker
        self.task_id = task_id
        self.delivery = delivery
        self.sessions = sessions
        self.job_id = job_id
        self.worker_id = worker_id
        self.interval_s = interval_s
        self.visibility_timeout_s = visibility_timeout_s
        self.stop = stop
        self.progress: Progress | None = None
        self.speed: float | None = None  # the last speed FFmpeg reported
        self._done = threading.Event()
        # The thread logs with the job's bound context (job_id, video_id).
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run,),
                                        name="heartbeat", daemon=True)

    def on_progress(self, progress: Progress) -> None:
        """FFmpeg's progress callback: only remembered here, written by the next beat."""
        self.progress = progress
        if progress.speed:
            self.speed = progress.speed
            ENCODE_SPEED.set(progress.speed)

    def __enter__(self) -> HeartbeatThread:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        # The queue's own visibility timeout may be shorter than an interval: extend now.
        self._extend()
        while not self._done.wait(self.interval_s):
            self.beat()

    def beat(self) -> None:
        self._extend()
        self._record()

    def _extend(self) -> None:
        try:
            self.broker.extend(self.delivery, visibility_timeout_s=self.visibility_timeout_s)
        except Exception as exc:  # the next beat tries again; the row still shows liveness
            log.warning("visibility_extend_failed", error=str(exc))

    def _record(self) -> None:
        progress = self.progress
        try:
            with transaction(self.sessions) as session:
                if self.task_id is not None:
                    beat: job_state.Heartbeat | task_state.Beat = task_state.heartbeat(
                        session, task_id=self.task_id, worker_id=self.worker_id,
                        progress=progress.fraction if progress else None)
                else:
                    beat = job_state.heartbeat(
                        session, job_id=self.job_id, worker_id=self.worker_id,
                        progress=progress.fraction if progress else None,
                        encode_speed=self.speed,
                    )
        except Exception as exc:
            log.warning("heartbeat_write_failed", error=str(exc))
            return
        if self.stop.reason is not None:
            return  # already stopping; FFmpeg may take a moment to exit
        if self.task_id is not None and beat.cancel_requested:
            # The job is over or cancelled: whoever finds it first ends it, owner or not.
            log.info("cancel_requested")
            self.stop.request(StopReason.CANCEL_REQUESTED)
        elif not beat.owned:
            log.warning("job_lost", reason="the job row is no longer ours")
            self.stop.request(StopReason.LOST)
        elif beat.cancel_requested:
            log.info("cancel_requested")
            self.stop.request(StopReason.CANCEL_REQUESTED)
