"""Limits a source must fit in before it is transcoded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from processor.settings import ProcessorSettings


@dataclass(frozen=True)
class Limits:
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
