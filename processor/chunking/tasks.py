"""A chunked job's tasks in the worker: the split hands over, each task runs, settles its
row and its wake-up token, and the stitch publishes.

A task is claimed like a job (``job_state.claim_next`` hands out either) and ends like
one, through ``common.task_state`` and, for its job, ``common.job_state`` with
``chunked=True``:

| task ends       | task row               | job                          | token              |
|-----------------|------------------------|------------------------------|--------------------|
| done            | SUCCEEDED              | its progress; the stitch     | deleted; the last  |
|                 |                        | publishes it (SUCCEEDED)     | other task sends   |
|                 |                        |                              | the stitch's       |
| fault, retried  | QUEUED after a backoff | RUNNING                      | a fresh one, later |
| fault, last try | FAILED                 | FAILED once, the task named  | deleted            |
| bad input       | FAILED                 | FAILED once, the task named  | deleted            |
| job cancelled   | CANCELLED              | CANCELLED (first to see it)  | deleted            |
| shutdown        | QUEUED                 | RUNNING                      | a fresh one at once|
| lost            | another worker's       | -                            | deleted            |

A failed or cancelled job's objects (its work prefix and any published prefix) are
removed by whoever ends it, and again by any task of it that finishes later (a straggler
may have uploaded after the first removal). The split's worker goes on with the job's
first task itself, with the source and parts it already has on disk.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import job_state, task_state
from common.broker import Delivery
from common.error_codes import ErrorCode
from common.job_state import Claimed
from common.logging import bound, get_logger
from common.messages import MAX_DELAY_S, WakeUp
from common.models import Job, Task, TaskKind
from common.retry import transient_retry
from common.statuses import JobStatus
from processor.chunking.job_split import Split
from processor.chunking.steps import Steps
from processor.chunking.work import WorkStore
from processor.errors import BadInput, Cancelled
from processor.heartbeat import HeartbeatThread, StopReason, StopSignal
from processor.manifest import Manifest
from processor.metrics import JOBS, JOBS_IN_FLIGHT, TASKS, count_attempt, count_published
from processor.outcome import Outcome
from processor.publication import publish

if TYPE_CHECKING:
    from processor.job_runner import JobRunner

log = get_logger(__name__)
T = TypeVar("T")


class _NotPublished(Exception):
    """The stitch's job could not be published (cancelled meanwhile): roll back."""


# Task outcomes that end the whole job: counted once as the job's, as an unchunked job's.
_ENDS_THE_JOB = {Outcome.FAILED, Outcome.CANCELLED}


class TaskRunner:
    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.settings = runner.settings
        # The job whose task this runner ran last: a split's attempt goes on with its first
        # task here, whose count stands for it (JobRunner does not count it again).
        self.ran_for: str | None = None

    # --- the split hands over -----------------------------------------------------

    def start(self, delivery: Delivery, token: WakeUp, job: Claimed, split: Split,
              workdir: Path, stop: StopSignal, *, spent_s: float) -> Outcome:
        """Insert the split's tasks, claim the first under this delivery, wake a worker
        for each other runnable one, and run the first here with the files on disk."""
        me = self.settings.worker_id

        def insert(session: Session) -> Claimed | None:
            estimate = session.execute(select(Job.estimated_work_s)
                                       .where(Job.id == job.job_id)).scalar()
            if not task_state.split(session, job_id=job.job_id, worker_id=me,
                                    tasks=split.new_tasks(estimate), spent_s=spent_s):
                return None
            first = session.execute(select(Task.id).where(Task.job_id == job.job_id)
                                    .order_by(Task.seq).limit(1)).scalar_one()
            claim = task_state.claim(session, task_id=first, worker_id=me,
                                     stale_after=self.settings.stale_after(),
                                     token_id=delivery.message_id)
            return replace(job, task=claim) if claim else None

        claimed = self._in_transaction(insert)
        if claimed is None or claimed.task is None:
            row = self._in_transaction(lambda s: s.get(Job, job.job_id))
            if row is not None and row.cancel_requested and row.worker_id == me:
                return self.runner._cancelled(delivery, job, spent_s=spent_s)
            return self.runner._lost(delivery)
        runnable = sum(1 for kind, _, _ in split.tasks if kind != TaskKind.STITCH)
        for _ in range(runnable - 1):  # this delivery is the first task's token
            self.runner.broker.send(WakeUp(reason="split"))
        log.info("job_split", tasks=len(split.tasks), chunks=len(split.plan.plan.chunks))
        return self.run(delivery, token, claimed, stop, workdir=workdir)

    # --- one task -----------------------------------------------------------------

    def run(self, delivery: Delivery, token: WakeUp, job: Claimed, stop: StopSignal, *,
            workdir: Path | None = None) -> Outcome:
        assert job.task is not None
        task = job.task
        name = task_state.describe(task.kind, task.spec, task.chunks)
        with bound(task_id=task.task_id, task=name):
            started = time.monotonic()
            self.ran_for = job.job_id
            log.info("task_claimed", attempt=task.attempts, token_reason=token.reason)
            JOBS_IN_FLIGHT.set(1)
            try:
                outcome = self._attempt(delivery, token, job, name, stop, workdir, started)
            finally:
                JOBS_IN_FLIGHT.set(0)
                count_attempt(time.monotonic() - started, self.settings.prices())
            TASKS.labels(task.kind.value, outcome.value).inc()
            if outcome in _ENDS_THE_JOB or (task.kind == TaskKind.STITCH
                                            and outcome == Outcome.SUCCEEDED):
                JOBS.labels(outcome.value).inc()
            log.info("task_done", outcome=outcome.value,
                     seconds=round(time.monotonic() - started, 2))
            return outcome

    def _attempt(self, delivery: Delivery, token: WakeUp, job: Claimed, name: str,
                 stop: StopSignal, workdir: Path | None, started: float) -> Outcome:
        assert job.task is not None
        task = job.task
        heartbeat = HeartbeatThread(
            broker=self.runner.broker, delivery=delivery, sessions=self.runner.sessions,
            job_id=job.job_id, worker_id=self.settings.worker_id,
            interval_s=self.settings.heartbeat_interval_s,
            visibility_timeout_s=self.settings.visibility_timeout_s, stop=stop,
            task_id=task.task_id)

        def spent() -> float:
            return time.monotonic() - started

        store = WorkStore(self.runner.s3, bucket=self.settings.media_bucket,
                          job_id=job.job_id)
        steps = Steps(self.runner.s3, self.settings, store, job)
        try:
            with _workdir(workdir, self.settings.work_dir, job.job_id) as tmp:
                with heartbeat:
                    manifest = steps.run(task.kind, task.spec, tmp, heartbeat, stop)
                if stop.event.is_set():
                    raise Cancelled(f"stopped before the task settled ({stop.reason})")
            return self._done(delivery, job, manifest, spent(), store)
        except BadInput as exc:
            return self._fail(delivery, job, name, f"bad input: {exc}", code=exc.code,
                              error=str(exc), spent_s=spent())
        except Cancelled:
            return self._stopped(delivery, token, job, stop.reason or StopReason.SHUTDOWN,
                                 spent_s=spent())
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.error("task_attempt_failed", attempt=task.attempts, error=error)
            return self._retry_or_fail(delivery, token, job, name, error, spent_s=spent())

    # --- endings --------------------------------------------------------------------

    def _done(self, delivery: Delivery, job: Claimed, manifest: Manifest | None,
              spent_s: float, store: WorkStore) -> Outcome:
        assert job.task is not None
        task_id, me = job.task.task_id, self.settings.worker_id
        if manifest is None:
            done = self._in_transaction(lambda s: task_state.succeed(
                s, task_id=task_id, worker_id=me, spent_s=spent_s))
            if not done:
                return self._not_settled(delivery, job)
            if self._in_transaction(lambda s: task_state.stitch_ready(s, job_id=job.job_id)):
                self.runner.broker.send(WakeUp(reason="stitch"))  # after the commit: the
                # last two tasks to finish at once may both send one, never neither
            self.runner.broker.delete(delivery)
            return Outcome.SUCCEEDED
        return self._publish(delivery, job, manifest, spent_s, store)

    def _publish(self, delivery: Delivery, job: Claimed, manifest: Manifest, spent_s: float,
                 store: WorkStore) -> Outcome:
        assert job.task is not None
        task_id, me = job.task.task_id, self.settings.worker_id

        def publish_job(session: Session) -> bool:
            if not task_state.succeed(session, task_id=task_id, worker_id=me,
                                      spent_s=spent_s):
                return False
            tasks_s = task_state.instance_seconds(session, job_id=job.job_id)
            if publish(session, manifest=manifest, job_id=job.job_id, video_id=job.video_id,
                       worker_id=me, bucket=self.settings.media_bucket,
                       instance_seconds=tasks_s, chunked=True):
                return True
            raise _NotPublished  # roll back: the stitch does not succeed without its job

        try:
            published = self._in_transaction(publish_job)
        except _NotPublished:
            published = False
        except job_state.VideoGone:
            log.warning("video_gone_before_publish")
            self._remove(job)
            self.runner.broker.delete(delivery)
            return Outcome.DROPPED
        if not published:
            return self._not_settled(delivery, job)
        count_published(source_seconds=manifest.source.duration_s,
                        stored_bytes=sum(a.size for a in manifest.assets))
        # Committed: from here a fault is logged and left, never retried (as for a job).
        self.runner._after_publish(delivery, job, tidy=store.delete_all)
        return Outcome.SUCCEEDED

    def _not_settled(self, delivery: Delivery, job: Claimed) -> Outcome:
        """The task could not succeed: its job was cancelled, or ended, or the task is
        another worker's now."""
        row = self._in_transaction(lambda s: s.get(Job, job.job_id))
        if row is not None and row.status == JobStatus.RUNNING and row.cancel_requested:
            return self._cancelled(delivery, job, spent_s=None)
        if row is None or row.status != JobStatus.RUNNING:
            self._remove(job)  # what this task uploaded after the job's end
        return self.runner._lost(delivery)

    def _stopped(self, delivery: Delivery, token: WakeUp, job: Claimed, reason: StopReason,
                 *, spent_s: float) -> Outcome:
        assert job.task is not None
        task_id, me = job.task.task_id, self.settings.worker_id
        if reason == StopReason.LOST:
            return self.runner._lost(delivery)
        if reason == StopReason.SHUTDOWN:
            self._in_transaction(lambda s: task_state.release(
                s, task_id=task_id, worker_id=me, spent_s=spent_s))
            self.runner._pass_on(delivery, token.resent("released"))
            return Outcome.RELEASED
        return self._cancelled(delivery, job, spent_s=spent_s)

    def _cancelled(self, delivery: Delivery, job: Claimed, *,
                   spent_s: float | None) -> Outcome:
        """The job was cancelled (or ended) while this task ran: end both, clean up."""
        assert job.task is not None
        task_id, me = job.task.task_id, self.settings.worker_id

        def cancel(session: Session) -> bool:
            task_state.end_task(session, task_id=task_id, worker_id=me,
                                status=JobStatus.CANCELLED, spent_s=spent_s)
            return job_state.mark_cancelled(
                session, job_id=job.job_id, worker_id=me, chunked=True,
                spent_s=task_state.instance_seconds(session, job_id=job.job_id))

        ended = self._in_transaction(cancel)
        self._remove(job)
        self.runner.broker.delete(delivery)
        return Outcome.CANCELLED if ended else Outcome.LOST

    def _fail(self, delivery: Delivery, job: Claimed, name: str, reason: str, *,
              code: ErrorCode, error: str, spent_s: float) -> Outcome:
        """This task cannot succeed: it FAILED, and its job FAILED once, with its name."""
        assert job.task is not None
        task_id, me = job.task.task_id, self.settings.worker_id
        log.warning("task_failed", reason=reason, error_code=code.value)

        def fail(session: Session) -> bool:
            if not task_state.end_task(session, task_id=task_id, worker_id=me,
                                       status=JobStatus.FAILED, reason=error[:500],
                                       code=code, spent_s=spent_s):
                return False
            # The job's cost: the split's (on its row) and every task's so far.
            return job_state.fail(session, job_id=job.job_id, worker_id=me,
                                  reason=f"{name}: {reason}", code=code, chunked=True,
                                  spent_s=task_state.instance_seconds(session,
                                                                      job_id=job.job_id))

        if not self._in_transaction(fail):
            return self._not_settled(delivery, job)
        self._remove(job)
        self.runner.broker.delete(delivery)
        return Outcome.FAILED

    def _retry_or_fail(self, delivery: Delivery, token: WakeUp, job: Claimed, name: str,
                       error: str, *, spent_s: float) -> Outcome:
        assert job.task is not None
        attempts, limit = job.task.attempts, self.runner.attempt_limit()
        try:
            if attempts >= limit:
                reason = f"gave up after {attempts} attempts: a fault on our side did not clear"
                return self._fail(delivery, job, name, reason,
                                  code=ErrorCode.RETRIES_EXHAUSTED, error=error,
                                  spent_s=spent_s)
            backoff = min(self.settings.retry_backoff_s * 2 ** (attempts - 1), MAX_DELAY_S)
            not_before = datetime.now(UTC) + timedelta(seconds=backoff)
            task_id, me = job.task.task_id, self.settings.worker_id
            self._in_transaction(lambda s: task_state.release(
                s, task_id=task_id, worker_id=me, not_before=not_before, spent_s=spent_s))
            self.runner._pass_on(delivery, token.resent("retry"), delay_s=backoff)
        except Exception:
            # The database or the queue is down too: the token comes back after its
            # visibility timeout and the task is taken over once it is stale.
            log.exception("retry_bookkeeping_failed")
        return Outcome.RETRYING

    # --- helpers --------------------------------------------------------------------

    def _remove(self, job: Claimed) -> None:
        self.runner.outputs.remove(video_id=job.video_id, job_id=job.job_id)

    @transient_retry()
    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        return self.runner._in_transaction(work)


@contextmanager
def _workdir(given: Path | None, root: Path | None, job_id: str) -> Iterator[Path]:
    """The split's own directory (its source and parts on disk), else a fresh one."""
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix=f"vf-{job_id[:8]}-", dir=root) as tmp:
        yield Path(tmp)
