"""Everything a transcode is told, in one value the caller builds: the library itself never
reads the environment (the CLI and the worker turn ``ProcessorSettings`` into this)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from processor.encode import EncodeSettings
from processor.limits import DEFAULT_BUDGET, DEFAULT_LIMITS, BudgetPolicy, Limits

if TYPE_CHECKING:
    from processor.settings import ProcessorSettings


@dataclass(frozen=True)
class TranscodeSettings:
    limits: Limits = DEFAULT_LIMITS
    budget: BudgetPolicy = DEFAULT_BUDGET
    encode: EncodeSettings = field(default_factory=EncodeSettings)
    # Copy a source that already fits the top rung into it (processor/passthrough.py).
    passthrough: bool = True

    @classmethod
    def from_settings(cls, settings: ProcessorSettings) -> TranscodeSettings:
        return cls(limits=Limits.from_settings(settings),
                   budget=BudgetPolicy.from_settings(settings),
                   encode=EncodeSettings(preset=settings.x264_preset),
                   passthrough=settings.passthrough)
