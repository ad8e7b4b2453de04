"""Measurements of what will actually be decoded: packet timestamps, a short decode of the
first frames, and FFmpeg's interlace detector when the stream does not say.

None of these trust the container's header: a duration comes from the packets, a frame
size from decoded frames, where the video starts from the first frame that decodes.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from processor.demuxers import input_args
from processor.ffprobe import RunLimits, run_tool

# FFmpeg treats a jump of more than this between timestamps of a discontinuous container
# (MPEG-TS) as a discontinuity, not as time passing (its -dts_delta_threshold default).
_JUMP_S = 10.0
# The demuxer's words for "the index lists data that is not in the file".
_TRUNCATED = re.compile(r"partial file|ended prematurely|truncated", re.I)
# Frames decoded past the first keyframe to read interlacing and range from.
SAMPLE_FRAMES = 8
IDET_FRAMES = 60
# What a packet scan asks of every packet (ffprobe prints them in this order).
_PACKET_FIELDS = "pts_time,dts_time,duration_time,size,flags"
# The last scan's text, kept for :func:`packet_rows` (taken once). Only a short source's is
# kept: 8 M characters are about 200,000 packets, 2 hours at 24 fps; a longer source's
# packets are read again rather than held.
_KEEP_CHARS = 8_000_000
_kept: dict[tuple[object, ...], str] = {}
_kept_lock = threading.Lock()


class PacketRow(NamedTuple):
    """One packet as the scan reads it (times in seconds; None where ffprobe has none)."""
    pts: float | None
    dts: float | None
    duration: float | None
    size: int  # bytes
    key: bool


@dataclass(frozen=True)
class Packets:
    count: int
    first_s: float | None  # earliest timestamp (None: the stream has none, e.g. raw H.264)
    end_s: float | None  # latest timestamp plus its duration
    span_s: float  # time the packets cover, discontinuities left out
    first_key: int  # position (decode order) of the first keyframe; -1 if none is flagged
    truncated: str | None  # the demuxer's complaint when the file is cut short


def scan_packets(path: Path, container: str, index: int, *, fps: float, discontinuous: bool,
                 limits: RunLimits) -> Packets:
    """Every packet of stream ``index``: timestamps, sizes and flags, nothing decoded."""
    proc = _run_scan(path, container, index, limits)
    if len(proc.stdout) <= _KEEP_CHARS:
        with _kept_lock:
            _kept.clear()
            _kept[_identity(path, container, index)] = proc.stdout
    rows = _rows(proc.stdout)
    complaint = next((line for line in proc.stderr.splitlines() if _TRUNCATED.search(line)),
                     None)
    first_key = next((i for i, r in enumerate(rows) if r.key), -1)
    known = [r.duration for r in rows if r.duration and r.duration > 0]
    frame_s = statistics.median(known) if known else (1 / fps if fps > 0 else 0.04)
    stamped: list[tuple[float, float, float]] = []  # (pts, duration, dts) in decode order
    for r in rows:
        ts = r.pts if r.pts is not None else r.dts
        if ts is not None:
            stamped.append((ts, r.duration or frame_s, r.dts if r.dts is not None else ts))
    if not stamped:
        span = sum(r.duration or frame_s for r in rows)
        return Packets(len(rows), None, None, span, first_key, complaint)
    span, first, end = _span(stamped, discontinuous)
    return Packets(len(rows), first, end, span, first_key, complaint)


def packet_rows(path: Path, container: str, index: int, *, limits: RunLimits
                ) -> list[PacketRow]:
    """Every packet of stream ``index`` in decode order, taken from the scan
    :func:`scan_packets` just made of this same file when there is one (passthrough reads
    the packets moments after intake, in the same process), read again otherwise."""
    with _kept_lock:
        text = _kept.pop(_identity(path, container, index), None)
    return _rows(text if text is not None else _run_scan(path, container, index, limits).stdout)


def _run_scan(path: Path, container: str, index: int, limits: RunLimits
              ) -> subprocess.CompletedProcess[str]:
    return run_tool(["ffprobe", "-hide_banner", "-v", "error", *input_args(path, container),
                     "-select_streams", str(index), "-show_entries",
                     f"packet={_PACKET_FIELDS}", "-of", "csv=p=0"], limits)


def _rows(text: str) -> list[PacketRow]:
    """ffprobe's csv lines of ``_PACKET_FIELDS``; "N/A" (no timestamp) becomes None."""
    return [PacketRow(_time(f[0]), _time(f[1]), _time(f[2]),
                      int(f[3]) if f[3].isdigit() else 0, "K" in f[4])
            for line in text.splitlines()
            if len(f := line.split(",")) >= 5 and f[0][:1] in "-0123456789N"]


def _identity(path: Path, container: str, index: int) -> tuple[object, ...]:
    """The file as it is now: a rewrite between the two reads changes its identity."""
    st = path.stat()
    return (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
            container, index)


def _span(stamped: list[tuple[float, float, float]], discontinuous: bool
          ) -> tuple[float, float, float]:
    """Covered time, earliest start and latest end of (pts, duration, dts) in decode order.

    In a discontinuous container a timestamp jump starts a new segment, so a broadcast
    recording spanning a clock reset is not measured as hours long.
    """
    segments: list[list[tuple[float, float, float]]] = [[]]
    previous: float | None = None
    for item in stamped:
        if discontinuous and previous is not None and abs(item[2] - previous) > _JUMP_S:
            segments.append([])
        segments[-1].append(item)
        previous = item[2]
    span = sum(max(p + d for p, d, _ in seg) - min(p for p, _, _ in seg) for seg in segments)
    first = min(p for p, _, _ in stamped)
    end = max(p + d for p, d, _ in stamped)
    return span, first, end


@dataclass(frozen=True)
class FrameSample:
    count: int  # frames decoded
    first_s: float | None  # timestamp of the first decoded frame
    width: int  # largest decoded frame
    height: int
    pix_fmt: str
    full_range: bool
    interlaced: int  # frames flagged interlaced
    top_first: int  # of those, flagged top field first


def sample_frames(path: Path, container: str, index: int, packets: int, *,
                  limits: RunLimits) -> FrameSample:
    """Decode the first ``packets`` packets of stream ``index``: what comes out."""
    frames = _frames(path, container, index, packets, limits)
    video = [f for f in frames if int(f.get("width") or 0) > 0]
    first = next((t for f in video if (t := _time(f.get("best_effort_timestamp_time"),
                                                    f.get("pts_time"))) is not None), None)
    flagged = [f for f in video if int(f.get("interlaced_frame") or 0)]
    return FrameSample(
        count=len(video), first_s=first,
        width=max((int(f["width"]) for f in video), default=0),
        height=max((int(f["height"]) for f in video), default=0),
        pix_fmt=str(video[0].get("pix_fmt", "")) if video else "",
        full_range=any(f.get("color_range") == "pc" for f in video),
        interlaced=len(flagged),
        top_first=sum(1 for f in flagged if int(f.get("top_field_first") or 0)))


def first_audio_s(path: Path, container: str, index: int, *, limits: RunLimits
                  ) -> float | None:
    """Timestamp of the first audio frame of stream ``index`` that decodes (None: none)."""
    for frame in _frames(path, container, index, 8, limits):
        if int(frame.get("nb_samples") or 0) > 0:
            return _time(frame.get("best_effort_timestamp_time"), frame.get("pts_time"))
    return None


def _frames(path: Path, container: str, index: int, packets: int, limits: RunLimits
            ) -> list[dict[str, Any]]:
    cmd = ["ffprobe", "-hide_banner", "-v", "quiet", *input_args(path, container),
           "-select_streams", str(index), "-read_intervals", f"%+#{max(1, packets)}",
           "-show_entries", "frame=best_effort_timestamp_time,pts_time,width,height,pix_fmt,"
           "color_range,interlaced_frame,top_field_first,nb_samples", "-of", "json"]
    proc = run_tool(cmd, limits)
    try:
        frames = json.loads(proc.stdout or "{}").get("frames", [])
    except json.JSONDecodeError:
        return []
    return [f for f in frames if isinstance(f, dict)]


_IDET = re.compile(r"Multi frame detection:\s*TFF:\s*(\d+)\s*BFF:\s*(\d+)\s*"
                   r"Progressive:\s*(\d+)")


def detect_interlacing(path: Path, container: str, index: int, *, limits: RunLimits
                       ) -> str | None:
    """FFmpeg's idet over the first frames: "tff", "bff", or None (progressive/unsure)."""
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "info", *input_args(path, container),
           "-map", f"0:{index}", "-frames:v", str(IDET_FRAMES), "-vf", "idet", "-f", "null",
           "-"]
    found = _IDET.findall(run_tool(cmd, limits).stderr)
    if not found:
        return None
    tff, bff, progressive = (int(n) for n in found[-1])
    if tff + bff < 5 or tff + bff <= 2 * progressive:
        return None
    return "tff" if tff >= bff else "bff"


def _time(*values: object) -> float | None:
    for value in values:
        try:
            return float(str(value))
        except (TypeError, ValueError):
            continue
    return None
