"""Settings of the processor (the transcoder, the worker and the autoscaler): ``VF_*`` env."""

from __future__ import annotations

from common.settings import CommonSettings
from processor.limits import Limits

_LIMITS = Limits()


class ProcessorSettings(CommonSettings):
    # Source limits (see processor.limits): anything above is rejected as bad input.
    max_duration_s: float = _LIMITS.max_duration_s
    max_size_bytes: int = _LIMITS.max_size_bytes
    max_pixels: int = _LIMITS.max_pixels

    # Same x264 preset for every quality; slower presets trade CPU for smaller files.
    x264_preset: str = "veryfast"
