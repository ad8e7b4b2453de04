"""Settings of the processor (the transcoder, the worker and the autoscaler): ``VF_*`` env."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from common.costs import PriceSettings
from common.settings import CommonSettings
from processor.chunking.settings import ChunkingSettings
from processor.limits import BudgetPolicy, Limits

_LIMITS = Limits()
_BUDGET = BudgetPolicy()


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class ProcessorSettings(CommonSettings, PriceSettings, ChunkingSettings):
    # Source limits (see processor.limits): anything above is rejected as bad input.
    max_duration_s: float = _LIMITS.max_duration_s
    max_size_bytes: int = _LIMITS.max_size_bytes
    max_pixels: int = _LIMITS.max_pixels

    # Same x264 preset for every quality; slower presets trade CPU for smaller files.
    x264_preset: str = "veryfast"
    # Copy the video of a source that already fits the top rung instead of encoding it.
    passthrough: bool = True
    # The encode's budget (see processor.limits.BudgetPolicy): CPU-seconds per second of
    # source per megapixel of its coded frame (at least the minimum), and the wall clock
    # as a multiple of that. A job past either fails with error code budget_exceeded.
    cpu_budget_per_mpx_s: float = _BUDGET.cpu_s_per_mpx_s
    cpu_budget_min_s: float = _BUDGET.min_cpu_s
    wall_budget_factor: float = _BUDGET.wall_factor

    # --- worker -------------------------------------------------------------------
    worker_id: str = Field(default_factory=_default_worker_id)
    # Every interval the worker extends the message's visibility and writes liveness and
    # progress to the job row (so the row is written at most this often).
    heartbeat_interval_s: float = 10.0
    # Visibility the heartbeat sets; a killed worker's message returns after at most this.
    visibility_timeout_s: int = 60
    # A RUNNING job whose heartbeat is older than this is taken over by the next worker
    # that receives its message (default: three heartbeat intervals).
    stale_after_s: float | None = None
    # After the first SIGTERM the current job gets this long to finish, then is released.
    drain_timeout_s: float = 300.0
    # SQS long poll; 20 s is the maximum (common.messages.MAX_WAIT_TIME_S).
    poll_wait_s: int = 20
    # Failed attempts come back after retry_backoff_s * 2**(attempt-1) seconds.
    retry_backoff_s: int = 2
    # Without a redrive policy on the queue, a job fails for good after this many attempts.
    max_attempts: int = 5
    # How often an idle worker does its housekeeping: the dead-letter sweep and the
    # wake-up token reconciliation (0 = never).
    dlq_sweep_interval_s: float = 300.0
    metrics_port: int = 9101  # 0 = no metrics endpoint
    work_dir: Path | None = None  # temporary files; default: the system temp dir
    # Scale-in protection while busy: "autoscaling" (EC2 Auto Scaling) or "none" (local).
    protection: Literal["none", "autoscaling"] = "none"
    autoscaling_group: str | None = None  # default: looked up for this instance
    # A termination lifecycle hook on the group (`videoforge provision --lifecycle-hook`):
    # the worker heart-beats it while it drains, then lets the instance go.
    lifecycle_hook: str | None = None
    instance_id: str | None = None  # default: from the instance metadata service (IMDSv2)
    # An Auto Scaling worker (protection "autoscaling") reads the instance metadata this
    # often, busy or idle, for a spot interruption or its group terminating it (0: never;
    # processor/termination.py). Before a spot interruption the job in hand is released
    # this long ahead, so the release is done while the instance still runs.
    termination_check_interval_s: float = Field(default=5.0, ge=0)
    # The release needs: stop FFmpeg (a kill), one conditional UPDATE and one
    # ChangeMessageVisibility, each retried on transient faults (common/retry.py: 5
    # attempts, ~8 s of backoff at most); 30 s leaves room to spare.
    termination_release_margin_s: float = Field(default=30.0, ge=0)
    imds_endpoint: str = "http://169.254.169.254"

    @model_validator(mode="after")
    def _timers_fit(self) -> ProcessorSettings:
        # A message must not reappear between two beats, and a live worker's job must not
        # look stale between two beats.
        if self.visibility_timeout_s <= 2 * self.heartbeat_interval_s:
            raise ValueError("visibility_timeout_s must exceed two heartbeat intervals")
        if self.stale_after().total_seconds() < 2 * self.heartbeat_interval_s:
            raise ValueError("stale_after_s must be at least two heartbeat intervals")
        return self

    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.stale_after_s or 3 * self.heartbeat_interval_s)
