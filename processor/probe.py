"""Validate a source with ffprobe and describe it as a :class:`SourceInfo`.

Everything that makes a file impossible to transcode is found here and raised as
:class:`BadInput`, before any encoding starts.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from processor.errors import BadInput, TranscodeError
from processor.limits import DEFAULT_LIMITS, Limits

# ffprobe reports still images through these demuxers; a single picture is not a video.
_IMAGE_FORMATS = ("image2", "_pipe")
# FFmpeg renders plain text files as "ANSI art" video (the tty demuxer): not a video either.
_TEXT_CODECS = {"ansi", "bintext", "xbin", "idf"}
_HDR_TRANSFERS = {"smpte2084", "arib-std-b67"}  # PQ (HDR10) and HLG
# The truncation check reads this much of the end of the source.
_TAIL_CHECK_S = 2.0
_PROBE_TIMEOUT_S = 120


@dataclass(frozen=True)
class SourceInfo:
    width: int  # as displayed: rotation and sample aspect ratio applied
    height: int
    rotation: int  # display-matrix angle (counter-clockwise degrees as ffprobe reports it): 0-359
    duration_s: float
    fps: float  # average frame rate
    is_vfr: bool
    has_audio: bool
    video_codec: str
    pix_fmt: str
    bit_depth: int
    color_transfer: str
    color_primaries: str
    color_space: str
    is_hdr: bool
    size_bytes: int
    format_name: str
    video_index: int = 0  # absolute stream index of the video (cover art streams are skipped)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe(path: Path, limits: Limits = DEFAULT_LIMITS) -> SourceInfo:
    """Describe ``path``; raise :class:`BadInput` if it cannot or may not be transcoded."""
    size = _file_size(path)
    if size > limits.max_size_bytes:
        raise BadInput(f"file too big: {size} bytes exceeds the {limits.max_size_bytes}-byte limit")
    data = _ffprobe(path)
    info = _describe(data, size)
    _check_limits(info, limits)
    _check_tail_reads(path, info.duration_s)
    return info


def _file_size(path: Path) -> int:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise BadInput(f"no such file: {path}") from None
    if not path.is_file():
        raise BadInput(f"not a regular file: {path}")
    if size == 0:
        raise BadInput("empty file (0 bytes)")
    return size


def ffprobe_json(path: Path) -> tuple[dict[str, Any], str]:
    """ffprobe's streams and format of ``path`` ({} if it failed) and its stderr."""
    cmd = ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)]
    proc = _run(cmd)
    data = json.loads(proc.stdout or "{}") if proc.returncode == 0 else {}
    return data, proc.stderr.strip()


def _ffprobe(path: Path) -> dict[str, Any]:
    data, err = ffprobe_json(path)
    if "moov atom not found" in err and _starts_like_mp4(path):
        raise BadInput("truncated or incomplete file: the MP4 index (moov) is missing")
    if not data.get("format"):
        reason = err.splitlines()[-1].split(": ", 1)[-1] if err else "unrecognised format"
        raise BadInput(f"not a media file ({reason})")
    return data


def _starts_like_mp4(path: Path) -> bool:
    # An MP4/MOV begins with an "ftyp" box; random bytes named .mp4 do not.
    with path.open("rb") as f:
        return f.read(8)[4:8] == b"ftyp"


def _describe(data: dict[str, Any], size: int) -> SourceInfo:
    fmt = data["format"]
    streams = data.get("streams", [])
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not s.get("disposition", {}).get("attached_pic")]
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    format_name = fmt.get("format_name", "")
    if not videos:
        raise BadInput("no video stream (audio only)" if has_audio else "no video stream")
    if any(key in format_name for key in _IMAGE_FORMATS):
        raise BadInput(f"a still image ({format_name}), not a video")
    v = videos[0]
    if v.get("codec_name") in _TEXT_CODECS:
        raise BadInput("not a media file (it looks like text)")
    duration = _float(fmt.get("duration")) or _float(v.get("duration"))
    if duration <= 0:
        raise BadInput("truncated or unreadable: the duration is unknown")
    rotation = _rotation(v)
    width, height = _display_size(v, rotation)
    avg, real = _rate(v.get("avg_frame_rate")), _rate(v.get("r_frame_rate"))
    fps = avg or real
    if fps <= 0:
        raise BadInput("unreadable video stream: no frame rate")
    transfer = v.get("color_transfer", "")
    return SourceInfo(
        width=width, height=height, rotation=rotation, duration_s=duration, fps=fps,
        is_vfr=bool(avg and real and abs(avg - real) / real > 0.01),
        has_audio=has_audio, video_codec=v.get("codec_name", ""), pix_fmt=v.get("pix_fmt", ""),
        bit_depth=_bit_depth(v), color_transfer=transfer,
        color_primaries=v.get("color_primaries", ""), color_space=v.get("color_space", ""),
        is_hdr=transfer in _HDR_TRANSFERS, size_bytes=size, format_name=format_name,
        video_index=int(v.get("index", 0)),
    )


def _check_limits(info: SourceInfo, limits: Limits) -> None:
    if info.duration_s > limits.max_duration_s:
        raise BadInput(f"too long: {info.duration_s:.1f} s exceeds the "
                       f"{limits.max_duration_s:g} s limit")
    if info.width * info.height > limits.max_pixels:
        raise BadInput(f"frame too large: {info.width}x{info.height} exceeds the "
                       f"{limits.max_pixels}-pixel limit")


def _check_tail_reads(path: Path, duration: float) -> None:
    """Read the packets of the last seconds: a cut-off file whose index survived fails here.

    Packets are copied, not decoded: the demuxer and the codec parser see a truncation
    ("partial file") at a tiny fraction of a decode's cost.
    """
    start = max(0.0, duration - _TAIL_CHECK_S)
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-ss", f"{start:.3f}",
           "-i", str(path), "-map", "0", "-c", "copy", "-f", "null", "-"]
    proc = _run(cmd)
    if proc.returncode != 0 or proc.stderr.strip():
        first = (proc.stderr.strip().splitlines() or ["read failed"])[0]
        raise BadInput(f"truncated or corrupt: reading the end failed ({first.split('] ')[-1]})")


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              timeout=_PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise TranscodeError(f"{cmd[0]} took over {_PROBE_TIMEOUT_S} s on the source") from exc


def _rotation(stream: dict[str, Any]) -> int:
    """The display matrix angle; older files carry a clockwise ``rotate`` tag instead."""
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return round(float(side["rotation"])) % 360
    return round(-float(stream.get("tags", {}).get("rotate", 0))) % 360


def _display_size(stream: dict[str, Any], rotation: int) -> tuple[int, int]:
    width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
    if width <= 0 or height <= 0:
        raise BadInput("unreadable video stream: no frame size")
    sar = _rate(stream.get("sample_aspect_ratio", "1:1").replace(":", "/"))
    if sar > 0 and sar != 1:
        width = max(1, round(width * sar))
    return (height, width) if rotation % 180 == 90 else (width, height)


def _bit_depth(stream: dict[str, Any]) -> int:
    raw = stream.get("bits_per_raw_sample")
    if raw and str(raw).isdigit():
        return int(raw)
    pix_fmt = stream.get("pix_fmt", "")
    for depth in (16, 14, 12, 10, 9):
        if f"p{depth}" in pix_fmt:
            return depth
    return 8


def _rate(text: str | None) -> float:
    try:
        value = Fraction(text or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value)


def _float(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0
