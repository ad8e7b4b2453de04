"""What a source may be (its limits) and what its encode may cost (its budget)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from processor.settings import ProcessorSettings
    from processor.source_info import SourceInfo


@dataclass(frozen=True)
class Limits:
    """Checked against what intake measured: duration, file size, coded frame size."""

    max_duration_s: float = 4 * 3600
    max_size_bytes: int = 20 * 1024**3
    # DCI 4K (4096x2160) is the largest frame accepted.
    max_pixels: int = 4096 * 2160

    @classmethod
    def from_settings(cls, settings: ProcessorSettings) -> Limits:
        return cls(
            max_duration_s=settings.max_duration_s,
            max_size_bytes=settings.max_size_bytes,
            max_pixels=settings.max_pixels,
        )


# Limits is frozen, so one shared default instance is safe as a parameter default.
DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Budget:
    """What one FFmpeg run may spend before it is stopped."""

    cpu_s: float  # CPU-seconds (all threads), enforced with RLIMIT_CPU
    wall_s: float  # wall-clock seconds


@dataclass(frozen=True)
class BudgetPolicy:
    """The encode's budget from the source's measured size: CPU proportional to seconds ×
    coded megapixels, the wall clock a multiple of that.

    The defaults are generous on purpose. The 20 s 1080p bench source costs ~1.5
    CPU-seconds per second·megapixel with x264 veryfast on a 2-core machine; 20 leaves room
    for 60 fps, slower presets and slower CPUs. The wall clock gets 4× the CPU budget
    because a burstable instance out of credits runs at a fraction of a core: a good
    upload must never fail for that, only one whose encode runs away.
    """

    cpu_s_per_mpx_s: float = 20.0
    min_cpu_s: float = 120.0
    wall_factor: float = 4.0

    @classmethod
    def from_settings(cls, settings: ProcessorSettings) -> BudgetPolicy:
        return cls(cpu_s_per_mpx_s=settings.cpu_budget_per_mpx_s,
                   min_cpu_s=settings.cpu_budget_min_s,
                   wall_factor=settings.wall_budget_factor)

    def for_source(self, info: SourceInfo) -> Budget:
        megapixels = info.video.coded_pixels / 1e6
        cpu = max(self.min_cpu_s, self.cpu_s_per_mpx_s * info.duration_s * megapixels)
        return Budget(cpu_s=cpu, wall_s=cpu * self.wall_factor)


DEFAULT_BUDGET = BudgetPolicy()
