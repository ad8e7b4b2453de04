"""One delivery, start to finish: claim the job, transcode, publish, settle the message.

The outcome decides what happens to the SQS message:

| outcome    | job row                         | message                                    |
|------------|---------------------------------|--------------------------------------------|
| succeeded  | SUCCEEDED, assets, video READY  | deleted                                    |
| failed     | FAILED with the reason          | deleted (bad input) / left for the DLQ     |
| cancelled  | CANCELLED, nothing published    | deleted                                    |
| released   | back to QUEUED (shutdown)       | visible again at once                      |
| retrying   | back to QUEUED (transient fault)| visible again after a backoff              |
| lost       | another worker owns it          | left alone                                 |
| duplicate  | already finished                | deleted, nothing changes                   |
| deferred   | not claimable yet               | visible again shortly                      |
| dropped    | malformed or orphaned message,  | deleted (and the video deleted: its        |
|            | or its video deleted meanwhile  | outputs too)                               |
"""

from __future__ import annotations

import enum
import re
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from common import job_state
from common.broker import Broker, Delivery
from common.db import transaction
from common.error_codes import ErrorCode
from common.logging import bound, get_logger
from common.messages import JobMessage, MalformedMessage
from common.models import Job
from common.retry import call_with_retry, transient_retry
from common.storage import delete_prefix, media_prefix, upload_tree
from processor.errors import BadInput, Cancelled, TranscodeError
from processor.heartbeat import HeartbeatThread, StopReason, StopSignal
from processor.manifest import Manifest
from processor.metrics import (
    JOB_DURATION,
    JOBS,
    JOBS_IN_FLIGHT,
    QUEUE_WAIT,
    count_attempt,
    count_published,
)
from processor.publication import publish
from processor.settings import ProcessorSettings
from processor.transcode import transcode
from processor.transcode_settings import TranscodeSettings

log = get_logger(__name__)
T = TypeVar("T")

# A message that arrived before its job row was committed comes back after this.
_ROW_WAIT_S = 5
# Backoff between attempts is capped (SQS allows up to 12 h; a stuck fault is for ops).
_MAX_BACKOFF_S = 900
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")
_KNOWN_FAULTS = (TranscodeError, BotoCoreError, ClientError, Boto3Error, SQLAlchemyError)


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RELEASED = "released"
    RETRYING = "retrying"
    LOST = "lost"
    DUPLICATE = "duplicate"
    DEFERRED = "deferred"
    DROPPED = "dropped"


class JobRunner:
    def __init__(self, settings: ProcessorSettings, *, broker: Broker,
                 sessions: sessionmaker[Session], s3: Any) -> None:
        self.settings = settings
        self.broker = broker
        self.sessions = sessions
        self.s3 = s3
        self._max_receives: int | None = None
        self._max_receives_known = False

    def process(self, delivery: Delivery, stop: StopSignal | None = None) -> Outcome:
        """Handle one delivery; ``stop`` lets the worker end the job early (shutdown)."""
        try:
            message = delivery.job()
        except MalformedMessage as exc:
            log.error("malformed_message", message_id=delivery.message_id, error=str(exc))
            self.broker.delete(delivery)
            return Outcome.DROPPED
        with bound(job_id=message.job_id, video_id=message.video_id):
            claimed = self._in_transaction(lambda s: job_state.claim(
                s, job_id=message.job_id, worker_id=self.settings.worker_id,
                stale_after=self.settings.stale_after()))
            if not claimed:
                return self._unclaimed(delivery, message)
            return self._run(delivery, message, stop or StopSignal())

    # --- a claimed job ----------------------------------------------------------------

    def _run(self, delivery: Delivery, message: JobMessage, stop: StopSignal) -> Outcome:
        started = time.monotonic()
        submitted = _parse_time(message.submitted_at)
        if delivery.receive_count == 1 and submitted:
            QUEUE_WAIT.observe(max(0.0, (datetime.now(UTC) - submitted).total_seconds()))
        log.info("job_claimed", attempt=delivery.receive_count)
        JOBS_IN_FLIGHT.set(1)
        try:
            outcome = self._attempt(delivery, message, stop, started)
        finally:
            JOBS_IN_FLIGHT.set(0)
            JOB_DURATION.observe(time.monotonic() - started)
            count_attempt(time.monotonic() - started, self.settings.prices())
        JOBS.labels(outcome.value).inc()
        log.info("job_done", outcome=outcome.value, seconds=round(time.monotonic() - started, 2))
        return outcome

    def _attempt(self, delivery: Delivery, message: JobMessage, stop: StopSignal,
                 started: float) -> Outcome:
        heartbeat = HeartbeatThread(
            broker=self.broker, delivery=delivery, sessions=self.sessions,
            job_id=message.job_id, worker_id=self.settings.worker_id,
            interval_s=self.settings.heartbeat_interval_s,
            visibility_timeout_s=self.settings.visibility_timeout_s, stop=stop,
        )
        try:
            with tempfile.TemporaryDirectory(prefix=f"vf-{message.job_id[:8]}-",
                                             dir=self.settings.work_dir) as tmp, heartbeat:
                manifest = self._produce(message, Path(tmp), heartbeat, stop)
            return self._finish(delivery, message, manifest, started, heartbeat.speed)
        except BadInput as exc:
            return self._fail(delivery, message, f"bad input: {exc}", code=exc.code)
        except Cancelled:
            return self._stopped(delivery, message, stop.reason or StopReason.SHUTDOWN)
        except Exception as exc:
            # Faults of the parts we call are described by their message; anything else
            # is a bug and gets its traceback.
            log.error("job_attempt_failed", attempt=delivery.receive_count,
                      error=f"{type(exc).__name__}: {exc}",
                      exc_info=not isinstance(exc, _KNOWN_FAULTS))
            return self._retry_or_fail(delivery, message, exc)

    def _produce(self, message: JobMessage, workdir: Path, heartbeat: HeartbeatThread,
                 stop: StopSignal) -> Manifest:
        """Download, transcode and upload; returns the manifest of what was uploaded."""
        suffix = PurePosixPath(message.source_key).suffix
        source = workdir / ("source" + (suffix if _SAFE_SUFFIX.match(suffix) else ""))
        call_with_retry(self.s3.download_file, message.source_bucket, message.source_key,
                        str(source))
        outdir = workdir / "out"
        manifest = transcode(
            source, outdir, settings=TranscodeSettings.from_settings(self.settings),
            qualities=message.qualities, on_progress=heartbeat.on_progress, cancel=stop.event,
        )
        if stop.event.is_set():
            raise Cancelled(f"stopped before upload ({stop.reason})")
        upload_tree(self.s3, root=outdir, bucket=self.settings.media_bucket,
                    prefix=media_prefix(video_id=message.video_id, job_id=message.job_id))
        return manifest

    def _finish(self, delivery: Delivery, message: JobMessage, manifest: Manifest,
                started: float, speed: float | None) -> Outcome:
        try:
            published = self._in_transaction(lambda s: publish(
                s, manifest=manifest, job_id=message.job_id, video_id=message.video_id,
                worker_id=self.settings.worker_id, bucket=self.settings.media_bucket,
                instance_seconds=time.monotonic() - started, encode_speed=speed))
        except job_state.VideoGone:
            log.warning("video_gone_before_publish")
            self._remove_outputs(message.video_id, message.job_id)
            self.broker.delete(delivery)
            return Outcome.DROPPED
        if published:
            count_published(source_seconds=manifest.source.duration_s,
                            stored_bytes=sum(a.size for a in manifest.assets))
            self.broker.delete(delivery)
            return Outcome.SUCCEEDED
        job = self._in_transaction(lambda s: s.get(Job, message.job_id))
        if job is not None and job.cancel_requested and job.worker_id == self.settings.worker_id:
            return self._stopped(delivery, message, StopReason.CANCEL_REQUESTED)
        return Outcome.LOST

    def _stopped(self, delivery: Delivery, message: JobMessage, reason: StopReason) -> Outcome:
        me = self.settings.worker_id
        if reason == StopReason.LOST:
            return Outcome.LOST
        if reason == StopReason.SHUTDOWN:
            self._in_transaction(lambda s: job_state.release(s, job_id=message.job_id,
                                                             worker_id=me))
            self.broker.release(delivery)
            return Outcome.RELEASED
        if self._cancel(delivery, lambda s: job_state.mark_cancelled(
                s, job_id=message.job_id, worker_id=me),
                video_id=message.video_id, job_id=message.job_id):
            return Outcome.CANCELLED
        return Outcome.LOST

    def _fail(self, delivery: Delivery, message: JobMessage, reason: str, *,
              code: ErrorCode, delete_message: bool = True) -> Outcome:
        log.warning("job_failed", reason=reason, error_code=code.value)
        if not self._in_transaction(lambda s: job_state.fail(
                s, job_id=message.job_id, worker_id=self.settings.worker_id, reason=reason,
                code=code)):
            return Outcome.LOST
        if delete_message:
            self.broker.delete(delivery)
        else:
            # SQS moves it to the dead-letter queue on its next receive; ops keep it there.
            self.broker.release(delivery)
        return Outcome.FAILED

    def _retry_or_fail(self, delivery: Delivery, message: JobMessage,
                       exc: Exception) -> Outcome:
        try:
            limit = self._max_receive_count()
            if delivery.receive_count >= (limit or self.settings.max_attempts):
                # The fault itself was logged with the attempt; people get one sentence.
                reason = (f"gave up after {delivery.receive_count} attempts: a fault on our "
                          "side did not clear")
                return self._fail(delivery, message, reason, code=ErrorCode.RETRIES_EXHAUSTED,
                                  delete_message=limit is None)
            self._in_transaction(lambda s: job_state.release(
                s, job_id=message.job_id, worker_id=self.settings.worker_id))
            backoff = self.settings.retry_backoff_s * 2 ** (delivery.receive_count - 1)
            self.broker.extend(delivery, visibility_timeout_s=min(backoff, _MAX_BACKOFF_S))
        except Exception:
            # The database or the queue is down too: the message returns after its
            # visibility timeout and the next worker takes the job over once it is stale.
            log.exception("retry_bookkeeping_failed")
        return Outcome.RETRYING

    # --- a delivery whose job could not be claimed ------------------------------------

    def _unclaimed(self, delivery: Delivery, message: JobMessage) -> Outcome:
        job = self._in_transaction(lambda s: s.get(Job, message.job_id))
        if job is None:
            sent = delivery.sent_at or _parse_time(message.submitted_at)
            age = (datetime.now(UTC) - sent).total_seconds() if sent else float("inf")
            if age < self.settings.orphan_after_s:
                # The submitter sends before it commits: the row is probably on its way.
                self.broker.extend(delivery, visibility_timeout_s=_ROW_WAIT_S)
                return Outcome.DEFERRED
            log.warning("orphan_message", age_s=round(age, 1))
            self.broker.delete(delivery)
            return Outcome.DROPPED
        if job.status.is_terminal:
            log.info("duplicate_delivery", status=job.status.value)
            self.broker.delete(delivery)
            return Outcome.DUPLICATE
        stale_after = self.settings.stale_after()
        if job.cancel_requested and self._cancel(
                delivery, lambda s: job_state.cancel_abandoned(
                    s, job_id=job.id, stale_after=stale_after),
                video_id=job.video_id, job_id=job.id):
            # Cancelled while it ran, then released or its worker died: nobody else would
            # ever finish the cancel.
            return Outcome.CANCELLED
        # Running elsewhere (or a race): look again once the owner's heartbeat would be stale.
        log.info("job_busy_elsewhere", status=job.status.value, owner=job.worker_id)
        self.broker.extend(delivery, visibility_timeout_s=self.settings.visibility_timeout_s)
        return Outcome.DEFERRED

    # --- helpers ----------------------------------------------------------------------

    def _cancel(self, delivery: Delivery, transition: Callable[[Session], bool], *,
                video_id: str, job_id: str) -> bool:
        """-> CANCELLED by ``transition``; then anything uploaded goes, the message too.
        False if the job was not in the state the transition leaves."""
        if not self._in_transaction(transition):
            return False
        self._remove_outputs(video_id, job_id)
        self.broker.delete(delivery)
        return True

    def _remove_outputs(self, video_id: str, job_id: str) -> None:
        call_with_retry(delete_prefix, self.s3, bucket=self.settings.media_bucket,
                        prefix=media_prefix(video_id=video_id, job_id=job_id))

    @transient_retry()
    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        with transaction(self.sessions) as session:
            return work(session)

    def _max_receive_count(self) -> int | None:
        if not self._max_receives_known:
            self._max_receives = self.broker.max_receive_count()
            self._max_receives_known = True
        return self._max_receives


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
