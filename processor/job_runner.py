"""One delivery, start to finish: claim the best job, transcode, publish, settle the token.

A delivery is a wake-up token (common/messages.py); the job is whichever the scheduler
hands out (common/scheduler.py), and everything about it comes from its row. The outcome
decides what happens to the job and to the token:

| outcome    | job row                                   | token                           |
|------------|-------------------------------------------|---------------------------------|
| succeeded  | SUCCEEDED, assets, video READY; an        | deleted                         |
|            | earlier job's outputs removed             |                                 |
| failed     | FAILED with reason and code; partial      | deleted                         |
|            | uploads removed                           |                                 |
| cancelled  | CANCELLED, nothing published              | deleted                         |
| released   | back to QUEUED (shutdown)                 | a fresh one at once; deleted    |
| retrying   | back to QUEUED, runnable after a backoff  | a fresh one after the backoff;  |
|            |                                           | deleted                         |
| lost       | another worker owns it, or it is gone     | deleted (the owner holds one)   |
| idle       | nothing runnable: a surplus token         | deleted                         |
| deferred   | nothing runnable yet, the token is young  | visible again shortly (a job    |
|            | (its job's commit may be on its way)      | may be committing)              |
|            | or no surplus: it stands in for a running | a fresh one once that job's     |
|            | job's (whose worker may be gone)          | heartbeat would be stale        |
| dropped    | malformed body, or the video was deleted  | deleted (and the outputs)       |
|            | before the publish                        |                                 |

Before claiming, the same transaction ends what nobody else will: jobs whose workers died
on every attempt (FAILED, dead-lettered) and cancelled jobs left unfinished by a release
or a dead worker (CANCELLED).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from common import job_state
from common.broker import Broker, Delivery
from common.db import transaction
from common.error_codes import ErrorCode
from common.job_state import Claimed
from common.logging import bound, get_logger
from common.messages import MAX_DELAY_S, MalformedMessage, WakeUp
from common.models import Job
from common.retry import call_with_retry, transient_retry
from common.storage import media_prefix, upload_tree
from processor import wakeups
from processor.chunking.job_split import Split, prepare_split
from processor.chunking.tasks import TaskRunner
from processor.chunking.work import WorkStore, local_source
from processor.errors import BadInput, Cancelled, TranscodeError
from processor.heartbeat import HeartbeatThread, StopReason, StopSignal
from processor.intake import intake
from processor.manifest import Manifest
from processor.metrics import (
    JOB_DURATION,
    JOBS,
    JOBS_IN_FLIGHT,
    QUEUE_WAIT,
    count_attempt,
    count_published,
)
from processor.outcome import Outcome as Outcome  # re-exported: callers read it here
from processor.outputs import Outputs
from processor.publication import publish
from processor.settings import ProcessorSettings
from processor.transcode import transcode
from processor.transcode_settings import TranscodeSettings

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

log = get_logger(__name__)
T = TypeVar("T")

# A token that finds nothing to claim while younger than this may have beaten its job's
# commit (submission sends, then commits): it is looked at again after _ROW_WAIT_S.
_COMMIT_GRACE_S = 10
_ROW_WAIT_S = 5
# Backoff between attempts is capped at what SQS can delay a token by (15 minutes).
_MAX_BACKOFF_S = MAX_DELAY_S
_KNOWN_FAULTS = (TranscodeError, BotoCoreError, ClientError, Boto3Error, SQLAlchemyError)


class JobRunner:
    def __init__(self, settings: ProcessorSettings, *, broker: Broker,
                 sessions: sessionmaker[Session], s3: S3Client) -> None:
        self.settings = settings
        self.broker = broker
        self.sessions = sessions
        self.s3 = s3
        self.outputs = Outputs(s3, bucket=settings.media_bucket)
        self.tasks = TaskRunner(self)
        self._max_receives: int | None = None
        self._max_receives_known = False

    def process(self, delivery: Delivery, stop: StopSignal | None = None) -> Outcome:
        """Handle one delivery; ``stop`` lets the worker end the job early (shutdown)."""
        try:
            token = delivery.token()
        except MalformedMessage as exc:
            log.error("malformed_message", message_id=delivery.message_id, error=str(exc))
            self.broker.delete(delivery)
            return Outcome.DROPPED
        claimed = self._claim(delivery)
        if claimed is None:
            return self._idle(delivery, token)
        with bound(job_id=claimed.job_id, video_id=claimed.video_id):
            if claimed.task is not None:  # a chunked job's task
                return self.tasks.run(delivery, token, claimed, stop or StopSignal())
            return self._run(delivery, token, claimed, stop or StopSignal())

    def _claim(self, delivery: Delivery) -> Claimed | None:
        stale_after, limit = self.settings.stale_after(), self.attempt_limit()

        def claim(session: Session) -> tuple[list[tuple[str, str]], Claimed | None]:
            ended = job_state.end_abandoned(session, stale_after=stale_after,
                                            max_attempts=limit)
            return ended, job_state.claim_next(
                session, worker_id=self.settings.worker_id, stale_after=stale_after,
                token_id=delivery.message_id, chunk_hold=self.settings.chunk_hold())

        ended, claimed = self._in_transaction(claim)
        for job_id, video_id in ended:
            self.outputs.remove(video_id=video_id, job_id=job_id)
        return claimed

    # --- a claimed job ----------------------------------------------------------------

    def _run(self, delivery: Delivery, token: WakeUp, job: Claimed,
             stop: StopSignal) -> Outcome:
        started = time.monotonic()
        if job.attempts == 1:
            QUEUE_WAIT.observe(max(0.0, (datetime.now(UTC) - job.created_at).total_seconds()))
        log.info("job_claimed", attempt=job.attempts, token_reason=token.reason)
        JOBS_IN_FLIGHT.set(1)
        self.tasks.ran_for = None
        try:
            outcome = self._attempt(delivery, token, job, stop, started)
        finally:
            JOBS_IN_FLIGHT.set(0)
            JOB_DURATION.observe(time.monotonic() - started)
            count_attempt(time.monotonic() - started, self.settings.prices())
        if self.tasks.ran_for != job.job_id:  # split: its tasks count it (chunking/tasks.py)
            JOBS.labels(outcome.value).inc()
        log.info("job_done", outcome=outcome.value, seconds=round(time.monotonic() - started, 2))
        return outcome

    def _attempt(self, delivery: Delivery, token: WakeUp, job: Claimed, stop: StopSignal,
                 started: float) -> Outcome:
        heartbeat = HeartbeatThread(
            broker=self.broker, delivery=delivery, sessions=self.sessions,
            job_id=job.job_id, worker_id=self.settings.worker_id,
            interval_s=self.settings.heartbeat_interval_s,
            visibility_timeout_s=self.settings.visibility_timeout_s, stop=stop,
        )
        def spent() -> float:  # this attempt's instance time, recorded with its outcome
            return time.monotonic() - started

        try:
            with tempfile.TemporaryDirectory(prefix=f"vf-{job.job_id[:8]}-",
                                             dir=self.settings.work_dir) as tmp:
                with heartbeat:
                    manifest = self._produce(job, Path(tmp), heartbeat, stop)
                if isinstance(manifest, Split):  # the job's beat has stopped: hand over
                    return self.tasks.start(delivery, token, job, manifest, Path(tmp), stop,
                                            spent_s=spent())
            return self._finish(delivery, job, manifest, spent(), heartbeat.speed)
        except BadInput as exc:
            return self._fail(delivery, job, f"bad input: {exc}", code=exc.code, spent_s=spent())
        except Cancelled:
            return self._stopped(delivery, token, job, stop.reason or StopReason.SHUTDOWN,
                                 spent_s=spent())
        except Exception as exc:
            # Faults of the parts we call are described by their message; anything else
            # is a bug and gets its traceback.
            log.error("job_attempt_failed", attempt=job.attempts,
                      error=f"{type(exc).__name__}: {exc}",
                      exc_info=not isinstance(exc, _KNOWN_FAULTS))
            return self._retry_or_fail(delivery, token, job, spent_s=spent())

    def _produce(self, job: Claimed, workdir: Path, heartbeat: HeartbeatThread,
                 stop: StopSignal) -> Manifest | Split:
        """Download, transcode and upload; returns the manifest of what was uploaded (or,
        for a long source, the tasks it was split into)."""
        source = local_source(workdir, job.source_key)
        call_with_retry(self.s3.download_file, job.source_bucket, job.source_key, str(source))
        settings = TranscodeSettings.from_settings(self.settings)
        info = intake(source, settings.limits)
        # A long source becomes a chunked job's tasks (processor/chunking/job_split.py).
        split = prepare_split(source, info, qualities=job.qualities, transcode=settings,
                              chunking=self.settings, store=WorkStore(
                                  self.s3, bucket=self.settings.media_bucket,
                                  job_id=job.job_id),
                              workdir=workdir, cancel=stop.event)
        if split is not None:
            if stop.event.is_set():
                raise Cancelled(f"stopped after the split ({stop.reason})")
            return split
        outdir = workdir / "out"
        manifest = transcode(
            source, outdir, settings=settings, qualities=job.qualities,
            on_progress=heartbeat.on_progress, cancel=stop.event, info=info,
        )
        if stop.event.is_set():
            raise Cancelled(f"stopped before upload ({stop.reason})")
        upload_tree(self.s3, root=outdir, bucket=self.settings.media_bucket,
                    prefix=media_prefix(video_id=job.video_id, job_id=job.job_id))
        return manifest

    def _finish(self, delivery: Delivery, job: Claimed, manifest: Manifest, spent_s: float,
                speed: float | None) -> Outcome:
        me = self.settings.worker_id
        try:
            published = self._in_transaction(lambda s: publish(
                s, manifest=manifest, job_id=job.job_id, video_id=job.video_id, worker_id=me,
                bucket=self.settings.media_bucket, instance_seconds=spent_s,
                encode_speed=speed))
        except job_state.VideoGone:
            log.warning("video_gone_before_publish")
            self.outputs.remove(video_id=job.video_id, job_id=job.job_id)
            self.broker.delete(delivery)
            return Outcome.DROPPED
        if published:
            count_published(source_seconds=manifest.source.duration_s,
                            stored_bytes=sum(a.size for a in manifest.assets))
            self._after_publish(delivery, job)
            return Outcome.SUCCEEDED
        row = self._in_transaction(lambda s: s.get(Job, job.job_id))
        if row is not None and row.cancel_requested and row.worker_id == me:
            return self._cancelled(delivery, job, spent_s=spent_s)
        return self._lost(delivery)

    def _after_publish(self, delivery: Delivery, job: Claimed,
                       tidy: Callable[[], object] | None = None) -> None:
        """The tidying once the job is committed SUCCEEDED. A fault here is logged and
        left, never retried: the job is done (a token left behind finds nothing to claim;
        a superseded job's objects go with the next publish, or with the video; a chunked
        job's work prefix with the bucket's expiry rule)."""
        try:
            self.broker.delete(delivery)
            self.outputs.remove_superseded(video_id=job.video_id, keep_job_id=job.job_id)
            if tidy is not None:
                tidy()
        except Exception as exc:
            log.error("after_publish_failed", error=f"{type(exc).__name__}: {exc}",
                      exc_info=not isinstance(exc, _KNOWN_FAULTS))

    def _stopped(self, delivery: Delivery, token: WakeUp, job: Claimed, reason: StopReason,
                 *, spent_s: float) -> Outcome:
        if reason == StopReason.LOST:
            return self._lost(delivery)
        if reason == StopReason.SHUTDOWN:
            self._in_transaction(lambda s: job_state.release(
                s, job_id=job.job_id, worker_id=self.settings.worker_id, spent_s=spent_s))
            self._pass_on(delivery, token.resent("released"))
            return Outcome.RELEASED
        return self._cancelled(delivery, job, spent_s=spent_s)

    def _cancelled(self, delivery: Delivery, job: Claimed, *, spent_s: float) -> Outcome:
        if not self._in_transaction(lambda s: job_state.mark_cancelled(
                s, job_id=job.job_id, worker_id=self.settings.worker_id, spent_s=spent_s)):
            return self._lost(delivery)
        self.outputs.remove(video_id=job.video_id, job_id=job.job_id)
        self.broker.delete(delivery)
        return Outcome.CANCELLED

    def _fail(self, delivery: Delivery, job: Claimed, reason: str, *, code: ErrorCode,
              spent_s: float) -> Outcome:
        log.warning("job_failed", reason=reason, error_code=code.value)
        if not self._in_transaction(lambda s: job_state.fail(
                s, job_id=job.job_id, worker_id=self.settings.worker_id, reason=reason,
                code=code, spent_s=spent_s)):
            return self._lost(delivery)
        self.outputs.remove(video_id=job.video_id, job_id=job.job_id)  # partial uploads
        self.broker.delete(delivery)
        return Outcome.FAILED

    def _retry_or_fail(self, delivery: Delivery, token: WakeUp, job: Claimed, *,
                       spent_s: float) -> Outcome:
        try:
            if job.attempts >= self.attempt_limit():
                # The fault itself was logged with the attempt; people get one sentence.
                reason = f"gave up after {job.attempts} attempts: a fault on our side did not clear"
                return self._fail(delivery, job, reason, code=ErrorCode.RETRIES_EXHAUSTED,
                                  spent_s=spent_s)
            backoff = min(self.settings.retry_backoff_s * 2 ** (job.attempts - 1),
                          _MAX_BACKOFF_S)
            not_before = datetime.now(UTC) + timedelta(seconds=backoff)
            self._in_transaction(lambda s: job_state.release(
                s, job_id=job.job_id, worker_id=self.settings.worker_id, not_before=not_before,
                spent_s=spent_s))
            self._pass_on(delivery, token.resent("retry"), delay_s=backoff)
        except Exception:
            # The database or the queue is down too: the token returns after its
            # visibility timeout and the next worker takes the job over once it is stale.
            log.exception("retry_bookkeeping_failed")
        return Outcome.RETRYING

    # --- the token --------------------------------------------------------------------

    def _pass_on(self, delivery: Delivery, token: WakeUp, *, delay_s: int = 0) -> None:
        """Replace this token with a fresh one (its receive count starts again: only a
        holder that vanishes counts towards the dead-letter queue)."""
        self.broker.send(token, delay_s=delay_s)
        self.broker.delete(delivery)

    def _lost(self, delivery: Delivery) -> Outcome:
        log.warning("job_lost", reason="another worker owns the job, or it is gone")
        self.broker.delete(delivery)  # the job's owner, if any, holds a token of its own
        return Outcome.LOST

    def _idle(self, delivery: Delivery, token: WakeUp) -> Outcome:
        issued = token.issued() or delivery.sent_at
        age = (datetime.now(UTC) - issued).total_seconds() if issued else float("inf")
        if age < _COMMIT_GRACE_S:
            self.broker.extend(delivery, visibility_timeout_s=_ROW_WAIT_S)
            return Outcome.DEFERRED
        if not self._surplus():
            # E.g. after a restart: a RUNNING job's worker died with the old queue. Back
            # once the job is stale, for a claim to take it over.
            wait_s = int(self.settings.stale_after().total_seconds()) + 1
            self._pass_on(delivery, token.resent("held"), delay_s=min(wait_s, MAX_DELAY_S))
            return Outcome.DEFERRED
        log.info("surplus_token", age_s=round(age, 1), reason=token.reason)
        self.broker.delete(delivery)
        return Outcome.IDLE

    def _surplus(self) -> bool:
        """More tokens than units that need one (``wakeups.missing``); True when the
        counts cannot be read (a lost token is resent by reconciliation)."""
        try:
            with self.sessions() as session:
                return wakeups.missing(self.broker, session) < 0
        except Exception as exc:
            log.warning("token_count_failed", error=f"{type(exc).__name__}: {exc}")
            return True

    # --- helpers ----------------------------------------------------------------------

    @transient_retry()
    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        with transaction(self.sessions) as session:
            return work(session)

    def attempt_limit(self) -> int:
        """Attempts a job gets: the queue's maxReceiveCount when it has a redrive policy
        (so the database gives up where SQS would), else ``max_attempts``."""
        if not self._max_receives_known:
            self._max_receives = self.broker.max_receive_count()
            self._max_receives_known = True
        return self._max_receives or self.settings.max_attempts
