"""Settings of ``videoforge autoscaler``: ``VF_AUTOSCALER_*`` environment variables.

The sizing fields (``autoscaler_policy``, ``autoscaler_min_size`` …) are the ones
:meth:`processor.autoscaler.policy.ScalingConfig.from_settings` reads; the rest say where
the fleet is and how often to look at it.
"""

from __future__ import annotations

from typing import Literal

from common.costs import PriceSettings
from common.settings import CommonSettings
from processor.autoscaler.policy import ScalingConfig

_SIZING = ScalingConfig()


class AutoscalerSettings(CommonSettings, PriceSettings):
    """``VF_PRICE_*`` (common/costs.py) price the fleet's instance time on the dashboard."""

    autoscaler_backend: Literal["local", "asg"] = "local"
    autoscaler_interval_s: float = 30.0
    autoscaler_metrics_port: int = 9102

    # Sizing, read by ScalingConfig.from_settings (see processor/autoscaler/policy.py).
    autoscaler_policy: str = _SIZING.policy
    autoscaler_min_size: int = _SIZING.min_size
    autoscaler_max_size: int = _SIZING.max_size
    autoscaler_messages_per_instance: int = _SIZING.messages_per_instance
    autoscaler_target_latency_s: float = _SIZING.target_latency_s
    autoscaler_warmup_s: float = _SIZING.warmup_s
    autoscaler_scale_in_window_s: float = _SIZING.scale_in_window_s
    autoscaler_max_step_out: int = _SIZING.max_step_out
    autoscaler_rate_window_s: float = _SIZING.rate_window_s
    autoscaler_rate_floor: float = _SIZING.rate_floor

    # EC2 Auto Scaling backend.
    autoscaler_asg_name: str = "videoforge-workers"

    # Local pool backend: workers inherit this process's environment (so every VF_*
    # variable passes through), plus their own VF_WORKER_ID.
    autoscaler_worker_id_prefix: str = "pool"
    # Local workers serve metrics on base+1, base+2, … (0: workers serve no metrics).
    autoscaler_worker_metrics_base_port: int = 9110
    # How long shutdown waits for local workers to finish their jobs before killing them.
    autoscaler_drain_timeout_s: float = 900.0

    # CloudWatch: BacklogPerInstance in this namespace, for AWS target tracking. Off in
    # the local stack if the endpoint has no CloudWatch.
    autoscaler_cloudwatch: bool = True
    autoscaler_cloudwatch_namespace: str = "VideoForge"

    # Instance-seconds to encode one source second into one 1080p-sized output, used
    # until enough jobs have finished to measure it (a t3.medium with x264 veryfast
    # runs about realtime at 1080p).
    autoscaler_default_encode_cost: float = 1.0
    # Instance-seconds of a job whose source duration is unknown, until jobs have finished.
    autoscaler_default_job_s: float = 60.0
    # How many recent finished jobs the measured encode cost is the median of.
    autoscaler_cost_sample: int = 50
