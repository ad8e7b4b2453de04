"""Passthrough: a source whose video already fits the top rung is copied into it, not
encoded again.

Fitting means all of: H.264, Main or High profile at a level the rung allows; 8-bit 4:2:0,
limited range, SDR BT.709 (or untagged); progressive, opaque, no rotation, square pixels;
exactly the top rung's size (the ladder never scales a source that sits inside the box);
within the rung's bitrate cap (its VBV: ``maxrate`` over a ``bufsize`` buffer); a
constant frame rate within ``CFR_TOLERANCE_S``; keyframes at most
``MAX_KEYFRAME_INTERVAL_S`` apart, the first packet one of them; starting at time zero.

The header facts come from intake (processor/source_info.py); the packet-level ones
(keyframe times, sizes, frame durations) from one ffprobe scan of the video's packets, run
only when the header facts already fit. Then the run copies the video into the top rung's
CMAF file (its fragments follow the source's GOPs), encodes the lower rungs with keyframes
forced where the source has them (``-force_key_frames source``), so every quality's
fragments start at the same instants, and copies the audio when it is already AAC stereo
beside the video.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from processor.cmaf import MUXER_ARGS
from processor.demuxers import input_args
from processor.encode import (
    EncodeSettings,
    Timeline,
    codec_args,
    ladder_graph,
    output_rate,
    stream_maps,
    with_previews,
)
from processor.ffprobe import RunLimits
from processor.ladder import Rung, top_rung
from processor.measure import PacketRow, packet_rows
from processor.normalize import audio_chain
from processor.source_info import SourceInfo

MAX_KEYFRAME_INTERVAL_S = 4.0  # twice the ladder's own GOP: HLS segments stay near 6 s
# Frame durations may wobble by container rounding (e.g. 33/34 ms for 29.97 fps in a
# millisecond timescale); a phone's variable rate moves by far more.
CFR_TOLERANCE_S = 0.002
AUDIO_OFFSET_TOLERANCE_S = 0.05
PROFILES = frozenset({"Main", "High"})
# The H.264 level each rung's size and rate need at most (level_idc: 31 is 3.1): 1080p60
# needs 4.2, 2160p60 5.2. Smaller-than-480p rungs take 3.0.
MAX_LEVEL = {"480p": 31, "720p": 40, "1080p": 42, "2160p": 52}
_SMALL_RUNG_LEVEL = 30
_BT709_OR_UNTAGGED = frozenset({"bt709", "", "unknown"})


@dataclass(frozen=True)
class VideoPackets:
    """What one scan of the video's packets says."""

    keyframes_s: tuple[float, ...]  # presentation times of the keyframes
    first_is_key: bool
    start_s: float  # presentation time of the earliest frame
    end_s: float
    duration_spread_s: float  # largest distance of a frame's duration from the median
    frame_s: float  # the median frame duration
    peak_buffer_bits: float  # fullest the rung's VBV buffer gets with these packets


@dataclass(frozen=True)
class Decision:
    rung: Rung | None  # the rung the video is copied into; None: encode every rung
    copy_audio: bool = False
    reasons: tuple[str, ...] = ()  # why not, when not

    @property
    def taken(self) -> bool:
        return self.rung is not None


NOT_ASKED = Decision(None, reasons=("passthrough is off",))


def header_misfits(info: SourceInfo, top: Rung) -> list[str]:
    """Reasons the source's header facts rule it out (empty: scan the packets)."""
    v = info.video
    max_level = MAX_LEVEL.get(top.name, _SMALL_RUNG_LEVEL)
    rate = output_rate(info)
    checks = [
        (v.codec == "h264", f"codec {v.codec}, not H.264"),
        (v.profile in PROFILES, f"profile {v.profile or 'unknown'}, not Main or High"),
        (0 < v.level <= max_level,
         f"level {v.level / 10:g} above {top.name}'s {max_level / 10:g}"),
        (v.pix_fmt == "yuv420p" and v.bit_depth == 8,
         f"{v.pix_fmt} ({v.bit_depth}-bit), not 8-bit 4:2:0"),
        (not v.full_range, "full range, not limited"),
        ({v.color_primaries, v.color_transfer, v.color_space} <= _BT709_OR_UNTAGGED,
         f"colour {v.color_primaries}/{v.color_transfer}/{v.color_space}, not SDR BT.709"),
        (not v.interlaced, "interlaced"),
        (not v.has_alpha, "has alpha"),
        (v.rotation == 0, f"rotated {v.rotation}°"),
        (v.sar_num == v.sar_den, f"pixels {v.sar_num}:{v.sar_den}, not square"),
        ((v.width, v.height) == (top.width, top.height),
         f"{v.width}x{v.height}, not the {top.name} rung's {top.width}x{top.height}"),
        (not v.is_vfr, "variable frame rate"),
        # The lower rungs are made at the output rate: the copy must already be at it.
        (abs(float(rate) - v.fps) <= v.fps * 1e-3,
         f"{v.fps:.3f} fps, which the ladder would change to {float(rate):.3f}"),
    ]
    return [reason for ok, reason in checks if not ok]


def packet_misfits(packets: VideoPackets, top: Rung, duration_s: float) -> list[str]:
    """Reasons the packets rule the source out."""
    edges = pairwise([*packets.keyframes_s, packets.end_s])
    widest = max((b - a for a, b in edges), default=duration_s)
    checks = [
        # Raw streams and AVI give packets no presentation time: nothing to copy them by.
        (bool(packets.keyframes_s), "no keyframe has a presentation timestamp"),
        (packets.first_is_key, "the first packet is not a keyframe"),
        (abs(packets.start_s) <= packets.frame_s / 2,
         f"starts at {packets.start_s:.3f} s, not at zero"),
        (packets.duration_spread_s <= CFR_TOLERANCE_S,
         f"frame durations vary by {packets.duration_spread_s * 1000:.1f} ms"),
        (widest <= MAX_KEYFRAME_INTERVAL_S + 1e-3,
         f"keyframes {widest:.1f} s apart (at most {MAX_KEYFRAME_INTERVAL_S:g} s)"),
        (packets.peak_buffer_bits <= top.bufsize,
         f"over {top.name}'s cap of {top.maxrate / 1e6:g} Mb/s "
         f"(VBV buffer {packets.peak_buffer_bits / 1e6:.1f} of {top.bufsize / 1e6:g} Mbit)"),
    ]
    return [reason for ok, reason in checks if not ok]


def audio_copyable(info: SourceInfo) -> bool:
    """AAC stereo that starts with the video: the copied bytes play as they are."""
    a = info.audio
    return (a is not None and a.codec == "aac" and a.channels == 2
            and abs(info.audio_offset_s) <= AUDIO_OFFSET_TOLERANCE_S)


def scan(source: Path, info: SourceInfo, top: Rung) -> VideoPackets:
    """Every packet of the video (nothing decoded): sizes, times, keyframes."""
    rows = packet_rows(source, info.container, info.video.index,
                       limits=RunLimits.for_size(info.size_bytes))
    return summarise(rows, top)


def summarise(rows: Sequence[PacketRow], top: Rung) -> VideoPackets:
    """:class:`VideoPackets` from the scan's packets, in decode order."""
    times = sorted(r.pts for r in rows if r.pts is not None)
    if len(times) < 2:
        return VideoPackets((), False, 0.0, 0.0, float("inf"), 0.0, float("inf"))
    durations = [b - a for a, b in zip(times, times[1:], strict=False)]
    frame_s = statistics.median(durations)
    keyframes = tuple(sorted(r.pts for r in rows if r.pts is not None and r.key))
    return VideoPackets(
        keyframes_s=keyframes, first_is_key=rows[0].key,
        start_s=times[0], end_s=times[-1] + frame_s,
        duration_spread_s=max(abs(d - frame_s) for d in durations), frame_s=frame_s,
        peak_buffer_bits=_peak_buffer(
            [(r.dts if r.dts is not None else r.pts or 0.0, r.size * 8) for r in rows],
            top.maxrate))


def _peak_buffer(arrivals: list[tuple[float, int]], maxrate: int) -> float:
    """The fullest a leaky bucket drained at ``maxrate`` gets when each packet's bits
    arrive at its decode time: within the cap while it stays at most ``bufsize``."""
    fill = peak = 0.0
    last = arrivals[0][0] if arrivals else 0.0
    for at, bits in arrivals:
        fill = max(0.0, fill - (at - last) * maxrate) + bits
        peak = max(peak, fill)
        last = at
    return peak


def decide(info: SourceInfo, rungs: Sequence[Rung], packets: VideoPackets | None
           ) -> Decision:
    """The decision for ``info`` and its ``rungs`` (largest last); ``packets`` None means
    the header facts alone are checked (the scan not run yet)."""
    top = top_rung(rungs)
    reasons = header_misfits(info, top)
    if not reasons and packets is not None:
        reasons = packet_misfits(packets, top, info.duration_s)
    if reasons or packets is None:
        return Decision(None, reasons=tuple(reasons))
    return Decision(top, copy_audio=audio_copyable(info))


def plan(source: Path, info: SourceInfo, rungs: Sequence[Rung]) -> Decision:
    """Whether to copy the top rung: header facts first, the packet scan only if they fit."""
    early = decide(info, rungs, None)
    if early.reasons:
        return early
    top = top_rung(rungs)
    return decide(info, rungs, scan(source, info, top))


def encode_args(source: Path, outputs: Sequence[Path], info: SourceInfo,
                rungs: Sequence[Rung], decision: Decision, settings: EncodeSettings,
                timing: Timeline, previews: Path | None = None) -> list[str]:
    """One FFmpeg run: the top rung copied, every other rung encoded with keyframes where
    the source has them (so all fragments start together). ``previews``: a directory for
    the poster and GIF, cut from the smallest encoded rung (only when one is encoded:
    see :func:`makes_previews`)."""
    top = decision.rung
    assert top is not None, "encode_args needs a passthrough decision"
    lower = [r for r in rungs if r is not top]
    parts: list[str] = []
    extra: list[str] = []
    if lower:
        graph = ladder_graph(info, lower, timing)
        if previews is not None:
            graph, extra = with_previews(graph, lower, timing, previews)
        parts.append(graph.text)
    audio_encoded = info.audio is not None and not decision.copy_audio
    if audio_encoded:
        assert info.audio is not None
        parts.append(f"[0:{info.audio.index}]{','.join(audio_chain(info, timing.seconds))}"
                     "[atop]")
    args = [*input_args(source, info.container)]
    if parts:
        args += ["-filter_complex", ";".join(parts)]
    for rung, out in zip(rungs, outputs, strict=True):
        if rung is top:
            args += _copied(info, rung, decision, audio_encoded)
        else:
            args += [*stream_maps(graph, lower.index(rung)),
                     *following_codec_args(rung, info, settings, timing)]
        args += [*MUXER_ARGS, str(out)]
    return [*args, *extra]


def makes_previews(decision: Decision, rungs: Sequence[Rung]) -> bool:
    """Whether :func:`encode_args` can cut the poster and GIF: some rung is encoded (a
    source that gets one rung, copied, has no decoded frames to cut them from)."""
    return any(r != decision.rung for r in rungs)


def following_codec_args(rung: Rung, info: SourceInfo, settings: EncodeSettings,
                         timing: Timeline) -> list[str]:
    """A lower rung's encoder options: keyframes where the source has them, and only
    there: x264 adds none of its own (no scene cuts, and a GOP longer than any the source
    may have). A chunked job's chunks use them too."""
    longest = max(1, round(float(timing.rate) * MAX_KEYFRAME_INTERVAL_S * 2))
    return [*codec_args(rung, info, settings, timing),
            "-force_key_frames:v", "source", "-g:v", str(longest)]


def copied_video_args(index: int) -> list[str]:
    """Output options copying video stream ``index`` as it is (no metadata, chapters)."""
    return ["-map_metadata", "-1", "-map_chapters", "-1", "-map", f"0:{index}", "-c:v", "copy"]


def _copied(info: SourceInfo, rung: Rung, decision: Decision, audio_encoded: bool) -> list[str]:
    args = copied_video_args(info.video.index)
    if info.audio is None:
        return args
    if decision.copy_audio:
        return [*args, "-map", f"0:{info.audio.index}", "-c:a", "copy"]
    assert audio_encoded
    return [*args, "-map", "[atop]", "-c:a", "aac", "-b:a", str(rung.audio_bitrate), "-ac", "2"]
