"""Parse FFmpeg's ``-progress`` output (``key=value`` lines, a block per report)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    fraction: float  # 0.0 … 1.0 of the source duration
    speed: float | None  # multiple of realtime; None until FFmpeg knows it
    out_time_s: float


ProgressCallback = Callable[[Progress], None]


class ProgressParser:
    """Feed it FFmpeg ``-progress`` lines; it calls ``callback`` at the end of each block.

    Each block ends with ``progress=continue`` (or ``progress=end``, reported as done).
    """

    def __init__(self, duration_s: float, callback: ProgressCallback) -> None:
        self._duration = duration_s
        self._callback = callback
        self._block: dict[str, str] = {}

    def feed(self, line: str) -> None:
        key, sep, value = line.strip().partition("=")
        if not sep:
            return
        if key != "progress":
            self._block[key] = value.strip()
            return
        self._callback(self._event(done=value.strip() == "end"))
        self._block = {}

    def _event(self, *, done: bool) -> Progress:
        out_time = _out_time_s(self._block)
        if done:
            fraction = 1.0
        elif self._duration > 0:
            fraction = min(1.0, max(0.0, out_time / self._duration))
        else:
            fraction = 0.0
        return Progress(fraction=fraction, speed=_speed(self._block.get("speed")),
                        out_time_s=out_time)


def _out_time_s(block: dict[str, str]) -> float:
    # out_time_us is microseconds; out_time_ms is ALSO microseconds (a long-standing FFmpeg quirk).
    for key in ("out_time_us", "out_time_ms"):
        raw = block.get(key, "")
        if raw.lstrip("-").isdigit():
            return max(0.0, int(raw) / 1_000_000)
    return 0.0


def _speed(raw: str | None) -> float | None:
    # "1.23x" once known; "N/A" (or nothing) at the start.
    if not raw or not raw.endswith("x"):
        return None
    try:
        return float(raw[:-1])
    except ValueError:
        return None
