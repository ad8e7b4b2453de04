"""Helpers for the worker tests: settings with short timers, submitting a real job,
reading back what the worker left in the database, S3 and SQS."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from common import aws
from common.broker import SqsBroker
from common.db import session_factory
from common.messages import WakeUp
from common.models import GalleryVideo, Job, MediaAsset, VideoStatus
from common.storage import media_prefix, upload_key
from common.submission import submit_job
from processor.job_runner import JobRunner
from processor.settings import ProcessorSettings
from processor.worker import Worker
from tests.support.aws_resources import AwsResources
from tests.support.media import make_clip

# Short timers so crash recovery and retries take seconds: a killed worker's message is
# back after VISIBILITY_S, by which time its heartbeat is stale (3 intervals).
HEARTBEAT_S = 0.5
VISIBILITY_S = 3

FAST_ENV = {
    "VF_HEARTBEAT_INTERVAL_S": str(HEARTBEAT_S),
    "VF_VISIBILITY_TIMEOUT_S": str(VISIBILITY_S),
    "VF_POLL_WAIT_S": "1",
    "VF_RETRY_BACKOFF_S": "1",
    "VF_DLQ_SWEEP_INTERVAL_S": "0",
    "VF_METRICS_PORT": "0",
    "VF_X264_PRESET": "ultrafast",
}


def worker_settings(aws_resources: AwsResources, database_url: str,
                    **overrides: Any) -> ProcessorSettings:
    values: dict[str, Any] = {
        **{k.removeprefix("VF_").lower(): v for k, v in FAST_ENV.items()},
        **{k.removeprefix("VF_").lower(): v for k, v in aws_resources.env().items()},
        "database_url": database_url,
        "worker_id": f"test-{uuid.uuid4().hex[:6]}",
    }
    return ProcessorSettings(**{**values, **overrides})


@dataclass
class Stack:
    """The real parts one worker talks to, plus readers for the tests."""

    settings: ProcessorSettings
    resources: AwsResources

    def __post_init__(self) -> None:
        self.s3 = aws.client("s3", self.settings)
        self.sqs = aws.client("sqs", self.settings)
        self.broker = SqsBroker(self.sqs, queue_url=self.resources.queue_url)
        self.dlq = SqsBroker(self.sqs, queue_url=self.resources.dlq_url)
        self.sessions = session_factory(self.settings.database_url)

    def worker(self, **overrides: Any) -> Worker:
        settings = self.settings.model_copy(update=overrides)
        runner = JobRunner(settings, broker=self.broker, sessions=self.sessions, s3=self.s3)
        return Worker(settings, runner=runner, broker=self.broker)

    def submit(self, clip: Path, *, qualities: list[str] | None = None, owner: str = "u1",
               priority: int = 0, broker: Any = None) -> Job:
        """Upload ``clip`` as a confirmed source and submit a job for it (as the gateway
        does); ``broker`` takes its wake-up instead of the queue (see :class:`HeldWakeUps`)."""
        video_id = str(uuid.uuid4())
        key = upload_key(user_id=owner, video_id=video_id, filename=clip.name)
        self.s3.upload_file(str(clip), self.resources.uploads_bucket, key)
        with self.sessions() as session:
            video = GalleryVideo(id=video_id, owner_id=owner, title=clip.stem,
                                 status=VideoStatus.UPLOADED, filename=clip.name,
                                 source_bucket=self.resources.uploads_bucket, source_key=key,
                                 source_size=clip.stat().st_size)
            session.add(video)
            session.flush()
            return submit_job(session, broker or self.broker, video=video, owner_id=owner,
                              qualities=qualities, priority=priority).job

    def job(self, job_id: str) -> Job:
        with self.sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job

    def video(self, video_id: str) -> GalleryVideo:
        with self.sessions() as session:
            video = session.get(GalleryVideo, video_id)
            assert video is not None
            return video

    def assets(self, job_id: str) -> list[MediaAsset]:
        with self.sessions() as session:
            return list(session.scalars(select(MediaAsset).where(MediaAsset.job_id == job_id)))

    def asset_count(self) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(MediaAsset)) or 0)

    def media_keys(self, job: Job) -> list[str]:
        prefix = media_prefix(video_id=job.video_id, job_id=job.id)
        found = self.s3.list_objects_v2(Bucket=self.resources.media_bucket, Prefix=prefix)
        return sorted(o["Key"] for o in found.get("Contents", []))

    def queue_empty(self) -> bool:
        counts = self.broker.counts()
        return counts.visible == 0 and counts.in_flight == 0 and counts.delayed == 0


class HeldWakeUps:
    """A broker for :meth:`Stack.submit` that keeps the wake-ups back: released at once,
    they reach workers that are already waiting only when every job is in the database."""

    def __init__(self) -> None:
        self.held: list[WakeUp] = []

    def send(self, message: WakeUp, *, delay_s: int = 0) -> str:
        self.held.append(message)
        return f"held-{len(self.held)}"

    def release(self, broker: SqsBroker) -> None:
        for message in self.held:
            broker.send(message)
        self.held.clear()


def wait_for(condition: Callable[[], Any], *, timeout: float = 30.0,
             interval: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy (for other processes' work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {condition}")


def make_long_clip(path: Path) -> Path:
    """Slow to encode at a slow preset: time to interfere with a job mid-way."""
    return make_clip(path, duration=12, size="426x240", rate=25)


def ffmpeg_of(job_id: str) -> list[int]:
    """FFmpeg processes working in this job's temporary directory."""
    marker = f"vf-{job_id[:8]}-".encode()
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids
