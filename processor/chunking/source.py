"""What the chunk plan reads of a source: its keyframes and where its first frame is.

One ffprobe pass over the video packets (timestamps and flags, nothing decoded) and one
decoded frame. FFmpeg opens the source with its container forced and the ``file``
protocol only, like every other run on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from processor.demuxers import input_args
from processor.errors import TranscodeError
from processor.ffprobe import RunLimits, run_tool


@dataclass(frozen=True)
class Packet:
    pts_s: float
    key: bool


def probe_packets(path: Path, container: str | None, *, index: int,
                  limit: int | None = None) -> list[Packet]:
    """Timestamps and keyframe flags of stream ``index``'s packets (the first ``limit``),
    in file order; packets without a timestamp are left out."""
    read = ["-read_intervals", f"%+#{limit}"] if limit else []
    cmd = ["ffprobe", "-hide_banner", "-v", "error", *read, *input_args(path, container),
           "-select_streams", str(index), "-show_entries", "packet=pts_time,flags",
           "-of", "csv=p=0"]
    out = _run(cmd, path)
    packets = []
    for line in out.splitlines():
        pts, _, flags = line.partition(",")
        try:
            packets.append(Packet(float(pts), "K" in flags))
        except ValueError:
            continue  # N/A: no timestamp
    return packets


def first_frame_time(path: Path, container: str | None, *, index: int) -> float:
    """Source-clock time of the first frame that decodes."""
    cmd = ["ffprobe", "-hide_banner", "-v", "error", "-read_intervals", "%+#1",
           *input_args(path, container), "-select_streams", str(index),
           "-show_entries", "frame=best_effort_timestamp_time", "-of", "csv=p=0"]
    for line in _run(cmd, path).splitlines():
        try:
            return float(line.strip().rstrip(","))
        except ValueError:
            continue
    raise TranscodeError("no frame of the video decodes")


def _run(cmd: list[str], path: Path) -> str:
    """Run a bounded ffprobe over ``path`` (its time and CPU limits grow with its size)."""
    proc = run_tool(cmd, RunLimits.for_size(path.stat().st_size))
    if proc.returncode != 0:
        raise TranscodeError(f"{cmd[0]} failed on {path.name}", proc.stderr[-2000:])
    return proc.stdout
