"""A job's objects in the media bucket, removed once nothing can serve them.

Output keys are deterministic per job (``videos/{video_id}/{job_id}/``), so what a job
left behind is one prefix: a failed or cancelled job's partial uploads, and a job whose
outputs were superseded by a newer job of the same video. Their rows are gone in the
transaction that made them unreachable; the objects follow after it commits. A chunked
job's intermediates (``videos/_work/{job_id}/``, processor/chunking/work.py) go with them.
"""

from __future__ import annotations

from typing import Any

from common.logging import get_logger
from common.retry import call_with_retry
from common.storage import delete_prefix, media_prefix, video_media_prefix
from processor.chunking.work import work_prefix

log = get_logger(__name__)


class Outputs:
    def __init__(self, s3: Any, *, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def remove(self, *, video_id: str, job_id: str) -> int:
        """Delete everything job ``job_id`` uploaded (a chunked job's intermediates too);
        returns how many objects."""
        return sum(int(call_with_retry(delete_prefix, self.s3, bucket=self.bucket,
                                       prefix=prefix))
                   for prefix in (media_prefix(video_id=video_id, job_id=job_id),
                                  work_prefix(job_id)))

    def remove_superseded(self, *, video_id: str, keep_job_id: str) -> int:
        """Delete the outputs of every other job of ``video_id`` (a re-transcode published:
        the earlier job's files are served by nothing now)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=video_media_prefix(video_id=video_id), Delimiter="/")
        others = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])
                  if p["Prefix"] != media_prefix(video_id=video_id, job_id=keep_job_id)]
        removed = sum(int(call_with_retry(delete_prefix, self.s3, bucket=self.bucket,
                                          prefix=prefix)) for prefix in others)
        if removed:
            log.info("superseded_outputs_removed", jobs=len(others), objects=removed)
        return removed
