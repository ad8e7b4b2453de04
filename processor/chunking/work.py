"""Where a chunked job's intermediates live between its tasks, and the plan they share.

The split writes, under the job's work prefix in the media bucket (``videos/_work/{job_id}/``:
inside the media prefix the workers' IAM role may write and delete, never under a job's
published prefix, so nothing there is ever served; ``_work`` is no video id):
- ``plan.json``: what intake measured, the chunk plan, the qualities and the encoder
  preset, so every task of the job encodes the same way whatever its worker's settings;
- ``parts/part_NNNN.nut``: each chunk's part of the source, cut by stream copy;
and the tasks add ``chunks/chunk_NNNN_{quality}.mp4`` and ``audio/audio_{k}k.m4a``. A
chunk task downloads its own part only; the stitch downloads one quality's chunks at a
time. Keys are deterministic, so a task redone after a crash overwrites its own objects.
The stitch removes the prefix once the job is published; a failed or cancelled job's
prefix goes with its outputs (``processor.outputs.Outputs.remove``).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from common.retry import call_with_retry
from common.storage import WORK_PREFIX, delete_prefix
from processor.chunking.plan import Chunk, ChunkPlan
from processor.chunking.split import part_name
from processor.encode import Timeline
from processor.ladder import Rung, choose_ladder
from processor.source_info import SourceInfo

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

PLAN_NAME = "plan.json"
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


def work_prefix(job_id: str) -> str:
    return f"{WORK_PREFIX}{job_id}/"


@dataclass(frozen=True)
class JobPlan:
    """Everything a chunked job's tasks need to know of it, from ``plan.json``."""

    info: SourceInfo
    plan: ChunkPlan
    qualities: list[str] | None
    frames: int  # the whole timeline's (the source's measured length, within the limit)
    preset: str
    vbv_init: float | None

    @property
    def rungs(self) -> list[Rung]:
        return choose_ladder(self.info.width, self.info.height, self.qualities)

    @property
    def timing(self) -> Timeline:
        return Timeline(self.plan.rate, self.frames)

    def to_json(self) -> str:
        plan = {"rate": str(self.plan.rate), "total_frames": self.plan.total_frames,
                "gop": self.plan.gop, "origin_s": self.plan.origin_s,
                "chunks": [asdict(c) for c in self.plan.chunks]}
        return json.dumps({"info": self.info.to_dict(), "plan": plan,
                           "qualities": self.qualities, "frames": self.frames,
                           "preset": self.preset, "vbv_init": self.vbv_init})

    @classmethod
    def from_json(cls, text: str) -> JobPlan:
        data: dict[str, Any] = json.loads(text)
        p = data["plan"]
        plan = ChunkPlan(Fraction(p["rate"]), int(p["total_frames"]), int(p["gop"]),
                         float(p["origin_s"]), tuple(Chunk(**c) for c in p["chunks"]))
        return cls(SourceInfo.from_dict(data["info"]), plan, data["qualities"],
                   int(data["frames"]), str(data["preset"]), data["vbv_init"])


class WorkStore:
    """The work prefix of one job in the media bucket."""

    def __init__(self, s3: S3Client, *, bucket: str, job_id: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = work_prefix(job_id)

    def key(self, relpath: str) -> str:
        return self.prefix + relpath

    def put(self, path: Path, relpath: str) -> str:
        key = self.key(relpath)
        call_with_retry(self.s3.upload_file, str(path), self.bucket, key)
        return key

    def get(self, relpath: str, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        call_with_retry(self.s3.download_file, self.bucket, self.key(relpath), str(path))
        return path

    def put_plan(self, plan: JobPlan) -> None:
        call_with_retry(self.s3.put_object, Bucket=self.bucket, Key=self.key(PLAN_NAME),
                        Body=plan.to_json().encode(), ContentType="application/json")

    def get_plan(self) -> JobPlan:
        body = call_with_retry(self.s3.get_object, Bucket=self.bucket,
                               Key=self.key(PLAN_NAME))["Body"].read()
        return JobPlan.from_json(body.decode())

    def delete_all(self) -> int:
        return int(call_with_retry(delete_prefix, self.s3, bucket=self.bucket,
                                   prefix=self.prefix))


def part_key(chunk: Chunk) -> str:
    return f"parts/{part_name(chunk)}"


def chunk_key(chunk: Chunk, quality: str) -> str:
    return f"chunks/chunk_{chunk.index:04d}_{quality}.mp4"


def audio_key(name: str) -> str:
    return f"audio/{name}"


def local_source(workdir: Path, source_key: str) -> Path:
    """Where a worker keeps a job's downloaded source: ``source`` with its key's suffix if
    a plain one (intake reads the container and never trusts the name; FFmpeg's messages
    just read better)."""
    suffix = PurePosixPath(source_key).suffix
    return workdir / ("source" + (suffix if _SAFE_SUFFIX.match(suffix) else ""))
