"""Intake: decide what a source really is, or reject it with one reason and a code.

A chain of named checks, each measuring rather than trusting the container: the file,
the container (probed through a whitelist, then forced), the streams, the coded frame
size, the packets (duration, count, truncation), a short decode (first decodable frame,
decoded size, interlacing, range), the limits on what was measured, and the audio. The
result, a :class:`SourceInfo`, is all that later steps read.
"""

from __future__ import annotations

import re
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

from common.error_codes import ErrorCode
from processor.declared_size import declared_size
from processor.demuxers import DISCONTINUOUS, container_of, input_args, rejected_reason
from processor.errors import BadInput
from processor.ffprobe import RunLimits, ffprobe_json, run_tool
from processor.limits import DEFAULT_LIMITS, Limits
from processor.measure import (
    SAMPLE_FRAMES,
    FrameSample,
    Packets,
    detect_interlacing,
    first_audio_s,
    sample_frames,
    scan_packets,
)
from processor.source_info import (
    BOTTOM_FIRST,
    PROGRESSIVE,
    TOP_FIRST,
    AudioStream,
    SourceInfo,
    VideoStream,
)
from processor.streams import Choice, choices, rate

_DETECTED = re.compile(r"Format (\S+) probed with size=\d+ and score=(\d+)")
# Below FFmpeg's AVPROBE_SCORE_RETRY a detection is a guess, not a recognition.
_CONFIDENT_SCORE = 25
_ALPHA = re.compile(r"^(yuva|gbrap|ya\d|rgba|bgra|argb|abgr|pal8)")
_FIELD_ORDERS = {"tt": TOP_FIRST, "bt": TOP_FIRST, "bb": BOTTOM_FIRST, "tb": BOTTOM_FIRST}
_INTERLACED_HEIGHTS = frozenset({480, 486, 576, 1080, 1088})
# Packets decoded to find the first decodable frame when no keyframe is flagged.
_BLIND_SAMPLE = 300
# A single picture is held for its soundtrack when the audio outlasts it by more than this
# (a one-frame clip's own audio runs a frame or two past it).
_HELD_MIN_S = 1.0


class _Undecodable(Exception):
    """This video stream yields no frame; another one may."""


def intake(path: Path, limits: Limits = DEFAULT_LIMITS) -> SourceInfo:
    """Describe ``path``; :class:`BadInput` if it cannot or may not be transcoded."""
    size = check_file(path, limits)
    run_limits = RunLimits.for_size(size)
    data = open_container(path, run_limits)
    container = container_of(data["format"].get("format_name", ""))
    check_declared_size(path, container, size)
    undecodable: list[str] = []
    still: SourceInfo | None = None
    for choice in choices(data):
        check_pixels(int(choice.video.get("width") or 0), int(choice.video.get("height") or 0),
                     limits)
        try:
            info = _describe(path, data, choice, container, size, limits, run_limits)
        except _Undecodable as exc:
            undecodable.append(str(exc))
            continue
        if info.video.frame_count > 1:
            return info
        # One picture beside other video tracks is cover art muxed as a plain track (an
        # MKV keeps no attached_pic flag for it): a moving track is the video.
        still = still or info
    if still is not None:
        return still
    raise BadInput(f"corrupt: {undecodable[0]}", code=ErrorCode.CORRUPT)


# --- the checks, in order ------------------------------------------------------------------

def check_file(path: Path, limits: Limits) -> int:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise BadInput(f"no such file: {path.name}", code=ErrorCode.SOURCE_MISSING) from None
    if not path.is_file():
        raise BadInput("not a regular file", code=ErrorCode.NOT_MEDIA)
    if size == 0:
        raise BadInput("empty file (0 bytes)", code=ErrorCode.CORRUPT)
    if size > limits.max_size_bytes:
        raise BadInput(f"file too big: {size} bytes exceeds the {limits.max_size_bytes}-byte "
                       "limit", code=ErrorCode.TOO_BIG)
    return size


def open_container(path: Path, run_limits: RunLimits) -> dict[str, Any]:
    """ffprobe's report, read through the demuxer whitelist; anything else is rejected by
    what FFmpeg detected it to be (without ever opening it as that)."""
    data, err = ffprobe_json(path, entries=("-show_format", "-show_streams", "-show_programs"),
                             limits=run_limits)
    if data.get("format"):
        return data
    if "not on whitelist" in err:
        name, score = _detected(path, run_limits)
        if name and score >= _CONFIDENT_SCORE:
            if name == "webp_pipe" and _animated_webp(path):
                raise BadInput("an animated WebP image, not a video container this service "
                               "accepts: upload the video itself, or a GIF",
                               code=ErrorCode.NOT_MEDIA)
            kind, reason = rejected_reason(name)
            code = {"image": ErrorCode.STILL_IMAGE, "audio": ErrorCode.NO_VIDEO}.get(
                kind, ErrorCode.NOT_MEDIA)
            raise BadInput(reason, code=code)
    if "moov atom not found" in err and _starts_like_mp4(path):
        raise BadInput("truncated or incomplete file: the MP4 index (moov) is missing",
                       code=ErrorCode.CORRUPT)
    raise BadInput("not a media file (no video container was recognised)",
                   code=ErrorCode.NOT_MEDIA)


def check_declared_size(path: Path, container: str, size: int) -> None:
    declared = declared_size(path, container, size)
    if declared is not None and size < declared.size:
        raise BadInput(f"truncated: the file ends at {size} of the {declared.size} bytes "
                       f"{declared.by}", code=ErrorCode.CORRUPT)


def check_pixels(width: int, height: int, limits: Limits) -> None:
    if width * height > limits.max_pixels:
        raise BadInput(f"frame too large: {width}x{height} exceeds the {limits.max_pixels}-"
                       "pixel limit", code=ErrorCode.TOO_MANY_PIXELS)


def check_truncation(packets: Packets) -> None:
    if packets.truncated:
        raise BadInput("truncated: the file ends before the data its index lists",
                       code=ErrorCode.CORRUPT)


def check_duration(duration_s: float, limits: Limits) -> None:
    if duration_s > limits.max_duration_s:
        raise BadInput(f"too long: {duration_s:.1f} s exceeds the {limits.max_duration_s:g} s "
                       "limit", code=ErrorCode.TOO_LONG)


# --- one video stream, measured ----------------------------------------------------------

def _describe(path: Path, data: dict[str, Any], choice: Choice, container: str, size: int,
              limits: Limits, run_limits: RunLimits) -> SourceInfo:
    with ThreadPoolExecutor(2) as pool:
        # Where the first audio track starts needs nothing the video's checks find, so it
        # is probed meanwhile: each probe is mostly FFmpeg's start-up, on one core. So are
        # the video's first frames, on the guess that its first packet is a keyframe (as
        # nearly every file's is): the packet scan tells afterwards whether the guess holds.
        first_audio = pool.submit(first_audio_s, path, container,
                                  int(choice.audio[0]["index"]),
                                  limits=run_limits) if choice.audio else None
        first_frames = pool.submit(sample_frames, path, container, int(choice.video["index"]),
                                   SAMPLE_FRAMES, limits=run_limits)
        return _describe_video(path, data, choice, container, size, limits, run_limits,
                               first_audio, first_frames)


def _describe_video(path: Path, data: dict[str, Any], choice: Choice, container: str,
                    size: int, limits: Limits, run_limits: RunLimits,
                    first_audio: Future[float | None] | None,
                    first_frames: Future[FrameSample]) -> SourceInfo:
    stream = choice.video
    index = int(stream["index"])
    header_fps = rate(stream.get("avg_frame_rate")) or rate(stream.get("r_frame_rate"))
    packets = scan_packets(path, container, index, fps=header_fps,
                           discontinuous=container in DISCONTINUOUS, limits=run_limits)
    check_truncation(packets)
    if packets.count == 0:
        raise _Undecodable("the video stream has no data")
    sample = _sample(path, container, index, packets, run_limits, first_frames)
    width, height = max(sample.width, int(stream.get("width") or 0)), max(
        sample.height, int(stream.get("height") or 0))
    check_pixels(width, height, limits)
    start = sample.first_s if sample.first_s is not None else (packets.first_s or 0.0)
    skipped = max(0.0, start - packets.first_s) if packets.first_s is not None else 0.0
    duration = max(packets.span_s - skipped, 0.0)
    check_duration(duration, limits)
    fps = _fps(header_fps, packets.count, duration)
    field_order, field_from = _interlacing(path, container, stream, sample, fps, run_limits)
    pix_fmt = sample.pix_fmt or str(stream.get("pix_fmt", ""))
    sar = _sar(stream)
    rotation = _rotation(stream)
    video = VideoStream(
        index=index, codec=str(stream.get("codec_name", "")), width=width, height=height,
        sar_num=sar.numerator, sar_den=sar.denominator, rotation=rotation, fps=fps,
        is_vfr=_is_vfr(stream, fps), frame_count=packets.count, start_s=start,
        pix_fmt=pix_fmt, bit_depth=_bit_depth(stream, pix_fmt),
        has_alpha=bool(_ALPHA.match(pix_fmt)),
        full_range=sample.full_range or stream.get("color_range") == "pc"
        or pix_fmt.startswith("yuvj"),
        color_space=str(stream.get("color_space", "")),
        color_transfer=str(stream.get("color_transfer", "")),
        color_primaries=str(stream.get("color_primaries", "")),
        field_order=field_order, field_order_from=field_from,
        profile=str(stream.get("profile", "")), level=max(0, int(stream.get("level") or 0)),
        bitrate=int(stream.get("bit_rate") or 0))
    display_w, display_h = _display_size(width, height, sar, rotation)
    fmt = data["format"]
    audio = _audio(path, container, choice, start, duration, run_limits, first_audio)
    if audio is not None and packets.count == 1:
        duration = _held_for(path, container, audio, start, duration, limits, run_limits)
    return SourceInfo(
        name=path.name, container=container, format_name=str(fmt.get("format_name", "")),
        size_bytes=size, duration_s=duration, claimed_duration_s=_claimed(fmt, stream),
        width=display_w, height=display_h, video=video, audio=audio,
        program_id=choice.program_id)


def _held_for(path: Path, container: str, audio: AudioStream, video_start: float,
              duration: float, limits: Limits, run_limits: RunLimits) -> float:
    """How long a single picture beside a soundtrack (cover art muxed with a song) plays:
    until the audio ends, the picture held (the video chain holds the last frame up to the
    timeline's length), rather than cutting the song to one frame."""
    packets = scan_packets(path, container, audio.index, fps=0.0,
                           discontinuous=container in DISCONTINUOUS, limits=run_limits)
    if packets.end_s is None or packets.end_s - video_start <= duration + _HELD_MIN_S:
        return duration
    held = packets.end_s - video_start
    check_duration(held, limits)
    return held


def _sample(path: Path, container: str, index: int, packets: Packets,
            run_limits: RunLimits, first_frames: Future[FrameSample]) -> FrameSample:
    """Decode up to the first keyframe and a few frames past it (the decoder discards what
    comes before a keyframe, or before the parameter sets, on its own). ``first_frames``:
    the first ``SAMPLE_FRAMES`` packets, decoded while the packets were scanned."""
    count = packets.first_key + SAMPLE_FRAMES if packets.first_key >= 0 else _BLIND_SAMPLE
    # A keyframe first: the frames decoded meanwhile are the very ones asked for here.
    sample = (first_frames.result() if packets.first_key == 0 else
              sample_frames(path, container, index, min(count, packets.count),
                            limits=run_limits))
    if sample.count == 0 and count < min(_BLIND_SAMPLE, packets.count):
        sample = sample_frames(path, container, index, min(_BLIND_SAMPLE, packets.count),
                               limits=run_limits)
    if sample.count == 0:
        raise _Undecodable("the video stream does not decode")
    return sample


def _interlacing(path: Path, container: str, stream: dict[str, Any], sample: FrameSample,
                 fps: float, run_limits: RunLimits) -> tuple[str, str]:
    """(field order, where it came from). Frames flagged interlaced are deinterlaced
    ("frames"); a stream flagged as a whole, or found combed by idet, entirely."""
    declared = _FIELD_ORDERS.get(str(stream.get("field_order", "")))
    if sample.interlaced:
        top = sample.top_first * 2 >= sample.interlaced
        return (TOP_FIRST if top else BOTTOM_FIRST), "frames"
    if declared:
        return declared, "stream"
    if stream.get("field_order") == "progressive" or not _broadcast_format(sample, fps):
        return PROGRESSIVE, ""
    detected = detect_interlacing(path, container, int(stream["index"]), limits=run_limits)
    return (detected, "idet") if detected else (PROGRESSIVE, "")


def _broadcast_format(sample: FrameSample, fps: float) -> bool:
    """Whether a frame could hold interlaced video at all: 480i, 576i and 1080i are the
    only interlaced formats (25 or 29.97 frames, 50 or 59.94 fields a second). Asking idet
    about anything else only invites false alarms on fine detail or noise."""
    return sample.height in _INTERLACED_HEIGHTS and 24.5 <= fps <= 30.5


def _audio(path: Path, container: str, choice: Choice, video_start: float,
           duration: float, run_limits: RunLimits,
           first: Future[float | None] | None = None) -> AudioStream | None:
    """The first of the candidate tracks that decodes and overlaps the video in time (an
    MPEG-TS can list a track on another clock, hours away). ``first``: the first track's
    start, already being probed."""
    for i, stream in enumerate(choice.audio):
        start = (first.result() if i == 0 and first is not None
                 else first_audio_s(path, container, int(stream["index"]), limits=run_limits))
        if start is None:
            continue
        offset = start - video_start
        if offset < max(duration, 0.001) and -offset <= max(duration, 10.0):
            return AudioStream(index=int(stream["index"]), codec=str(stream["codec_name"]),
                               channels=int(stream["channels"]),
                               sample_rate=int(stream["sample_rate"]), start_s=start)
    return None


# --- small readings of ffprobe's report -------------------------------------------------

def _detected(path: Path, run_limits: RunLimits) -> tuple[str | None, int]:
    """The demuxer FFmpeg's probe picks for ``path``: the whitelist stops it before it
    opens, so nothing the file names is read."""
    cmd = ["ffprobe", "-hide_banner", "-v", "debug", *input_args(path, None)]
    found = _DETECTED.findall(run_tool(cmd, run_limits).stderr)
    return (found[-1][0], int(found[-1][1])) if found else (None, 0)


def _animated_webp(path: Path) -> bool:
    # RIFF "WEBP" with an extended header (VP8X) whose flags have the animation bit set.
    with path.open("rb") as f:
        head = f.read(21)
    return len(head) == 21 and head[8:16] == b"WEBPVP8X" and bool(head[20] & 0x02)


def _starts_like_mp4(path: Path) -> bool:
    # An MP4/MOV begins with an "ftyp" box; random bytes named .mp4 do not.
    with path.open("rb") as f:
        return f.read(8)[4:8] == b"ftyp"


def _fps(header_fps: float, frames: int, duration: float) -> float:
    """The stream's average rate, or frames over time when it has none that is sane."""
    measured = frames / duration if duration > 0 else 0.0
    if 0 < header_fps <= 240:
        return header_fps
    return measured if measured > 0 else 25.0


def _is_vfr(stream: dict[str, Any], fps: float) -> bool:
    real = rate(stream.get("r_frame_rate"))
    return bool(real and fps and abs(fps - real) / real > 0.01)


def _claimed(fmt: dict[str, Any], stream: dict[str, Any]) -> float | None:
    for value in (fmt.get("duration"), stream.get("duration")):
        try:
            claimed = float(str(value))
        except (TypeError, ValueError):
            continue
        if claimed > 0:
            return claimed
    return None


def _sar(stream: dict[str, Any]) -> Fraction:
    text = str(stream.get("sample_aspect_ratio") or "1:1").replace(":", "/")
    try:
        sar = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return Fraction(1)
    return sar if sar > 0 else Fraction(1)


def _rotation(stream: dict[str, Any]) -> int:
    """The display matrix angle; older files carry a clockwise ``rotate`` tag instead."""
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return round(float(side["rotation"])) % 360
    try:
        return round(-float(stream.get("tags", {}).get("rotate", 0))) % 360
    except (TypeError, ValueError):
        return 0


def _display_size(width: int, height: int, sar: Fraction, rotation: int) -> tuple[int, int]:
    if sar != 1:
        width = max(1, round(width * sar))
    return (height, width) if rotation % 180 == 90 else (width, height)


def _bit_depth(stream: dict[str, Any], pix_fmt: str) -> int:
    raw = stream.get("bits_per_raw_sample")
    if raw and str(raw).isdigit():
        return int(raw)
    for depth in (16, 14, 12, 10, 9):
        if f"p{depth}" in pix_fmt:
            return depth
    return 8
