"""The one FFmpeg run that decodes the source once and encodes every quality of the ladder.

The filter graph normalises the source once (:mod:`processor.normalize`: alpha, interlace,
timing, constant frame rate; HDR tone-mapped to SDR; one scale to the largest quality in
limited-range BT.709 4:2:0 with square pixels; FFmpeg applies the rotation), then splits
that and scales each smaller quality from it. The audio is normalised once and split too.
Demuxing, decoding, normalising and the first scale happen once instead of once per
quality, which is what makes one run cheaper than one run per quality.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from processor.cmaf import MUXER_ARGS
from processor.demuxers import input_args
from processor.ffmpeg_build import has_filter
from processor.ladder import Rung
from processor.normalize import SCALE_FLAGS, audio_chain, top_scale, video_chain
from processor.previews import preview_filters, preview_outputs
from processor.source_info import SourceInfo

# Keyframe every 2 s in every quality (no scene-cut keyframes), so HLS can switch qualities
# at any segment boundary; segments are a whole number of GOPs.
GOP_SECONDS = 2
MAX_FPS = 60
# Capped CRF: constant quality, with each rung's maxrate/bufsize as the ceiling.
CRF = 23
_STANDARD_RATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001),
                   Fraction(30), Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60))
# HDR → SDR: linearise, tone-map in float RGB (hable keeps highlights), back to BT.709 video.
# The linear frames name their primaries (p=): zscale's default, the frame's own tag, is
# nothing when the source tags only its transfer, and then no conversion path exists.
_TONEMAP = ("zscale=tin={tin}:min={min}:pin={pin}:t=linear:p={pin}:npl=100,format=gbrpf32le,"
            "zscale=p=bt709,tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv")
_UNTAGGED = frozenset({"", "unknown", "unspecified", "reserved"})
# Every output is limited-range BT.709, whatever the source was: say so on the frames
# (FFmpeg 7 encoders take the frames' tags) and to the encoder (FFmpeg 5/6 take these).
_BT709_FRAMES = "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709"
_BT709_TAGS = ("-color_range", "tv", "-colorspace", "bt709", "-color_primaries", "bt709",
               "-color_trc", "bt709")


@dataclass(frozen=True)
class EncodeSettings:
    preset: str = "veryfast"
    crf: int = CRF
    # x264's initial VBV fullness (fraction of bufsize); None: x264's own 0.9. A chunk after
    # the first starts lower (processor/chunking/chunk_encode.py).
    vbv_init: float | None = None
    # x264 threads per quality; None: FFmpeg's own choice (from the cores it may use).
    # bench-chunked emulates one-core instances with 1.
    threads: int | None = None


@dataclass(frozen=True)
class Timeline:
    """Every output's frame rate and length: ``frames`` frames at ``rate``, from time 0.

    A chunk of a long source encodes a window of the whole timeline: frames ``first`` ..
    ``first + frames - 1``, decoded from a part that keeps the source's clock, on which
    output frame 0 is at ``origin_s``; the part's first frame falls in slot
    ``decoded_from`` or later. ``origin_s`` None: the whole timeline, frame 0 being the
    first frame decoded.
    """

    rate: Fraction
    frames: int
    first: int = 0
    origin_s: float | None = None
    decoded_from: int = 0

    @property
    def seconds(self) -> float:
        return float(self.frames / self.rate)


@dataclass(frozen=True)
class LadderGraph:
    """``-filter_complex`` text and, per rung (same order as the rungs), its output labels."""

    text: str
    video: list[str]
    audio: list[str] | None


def output_rate(info: SourceInfo) -> Fraction:
    """The constant frame rate of every output: the source's average, snapped to a standard
    rate when within 2 % (variable-rate phones report e.g. 29.8), at most 60."""
    fps = info.video.fps
    rate = Fraction(min(fps, MAX_FPS)).limit_denominator(1001)
    nearest = min(_STANDARD_RATES, key=lambda standard: abs(rate - standard))
    if abs(rate - nearest) / nearest < Fraction(2, 100):
        return nearest
    return Fraction(max(1, round(rate))) if info.video.is_vfr or rate < 1 else rate


def timeline(info: SourceInfo, max_duration_s: float | None = None) -> Timeline:
    """The measured duration in whole output frames (at least one), never past the limit:
    the encode stops there even if the source goes on."""
    rate = output_rate(info)
    frames = max(1, round(info.duration_s * rate))
    if max_duration_s is not None:
        frames = min(frames, max(1, math.floor(max_duration_s * rate)))
    return Timeline(rate, frames)


def gop_frames(rate: Fraction) -> int:
    return max(1, round(rate * GOP_SECONDS))


def ladder_graph(info: SourceInfo, rungs: Sequence[Rung], timing: Timeline) -> LadderGraph:
    """The filter graph from the source to one video (and audio) output per rung."""
    by_size = sorted(range(len(rungs)), key=lambda i: rungs[i].pixels, reverse=True)
    top = rungs[by_size[0]]
    tone_map = _tone_map(info)
    chain = [*video_chain(info, timing), *tone_map,
             top_scale(info, top.width, top.height, converted=bool(tone_map)),
             "format=yuv420p", "setsar=1", _BT709_FRAMES]
    source = f"[0:{info.video.index}]"
    video = [f"v{i}" for i in range(len(rungs))]
    if len(rungs) == 1:
        parts = [f"{source}{','.join(chain)}[{video[0]}]"]
    else:
        largest = by_size[0]
        split = "".join(f"[s{i}]" for i in by_size)
        parts = [f"{source}{','.join(chain)},split={len(rungs)}{split}",
                 f"[s{largest}]null[v{largest}]"]
        # setsar=1 again: scale keeps the display aspect by adjusting the SAR when even
        # rounding changes a quality's shape by a pixel; players want square pixels.
        parts += [f"[s{i}]scale={rungs[i].width}:{rungs[i].height}:flags={SCALE_FLAGS},"
                  f"setsar=1,{_BT709_FRAMES}[v{i}]" for i in by_size[1:]]
    audio = None
    if info.audio is not None:
        audio = [f"a{i}" for i in range(len(rungs))]
        tail = "".join(f"[{label}]" for label in audio)
        parts.append(f"[0:{info.audio.index}]{','.join(audio_chain(info, timing.seconds))},"
                     f"asplit={len(rungs)}{tail}")
    return LadderGraph(";".join(parts), video, audio)


def _tone_map(info: SourceInfo) -> list[str]:
    if not info.is_hdr:
        return []
    if not has_filter("zscale") or not has_filter("tonemap"):
        # Documented fallback: without zimg, HDR is converted as if it were SDR (flat colours).
        return []
    video = info.video
    return [_TONEMAP.format(tin=video.color_transfer, min=_tag(video.color_space, "bt2020nc"),
                            pin=_tag(video.color_primaries, "bt2020"))]


def _tag(value: str, default: str) -> str:
    """A colour tag as zscale takes it; HDR that names no matrix or primaries (ffprobe says
    "unknown") is BT.2020, as HDR10 and HLG are."""
    return default if value in _UNTAGGED else value


def codec_args(rung: Rung, info: SourceInfo, settings: EncodeSettings,
               timing: Timeline) -> list[str]:
    """Encoder options of one quality (after its ``-map``s): H.264 + AAC, fixed GOP."""
    gop = str(gop_frames(timing.rate))
    args = ["-map_metadata", "-1", "-map_chapters", "-1",
            "-c:v", "libx264", "-preset", settings.preset, "-profile:v", "high",
            "-crf", str(settings.crf), "-maxrate", str(rung.maxrate),
            "-bufsize", str(rung.bufsize), "-g", gop, "-keyint_min", gop,
            "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-fps_mode", "cfr", *_BT709_TAGS]
    if settings.vbv_init is not None:
        args += ["-rc_init_occupancy", str(round(settings.vbv_init * rung.bufsize))]
    if settings.threads is not None:
        args += ["-threads", str(settings.threads)]
    if info.has_audio:
        args += audio_codec_args(rung)
    return args


def audio_codec_args(rung: Rung) -> list[str]:
    """Audio encoder options of one quality: AAC stereo at the rung's bitrate."""
    return ["-c:a", "aac", "-b:a", str(rung.audio_bitrate), "-ac", "2"]


def stream_maps(graph: LadderGraph, index: int) -> list[str]:
    maps = ["-map", f"[{graph.video[index]}]"]
    return maps + (["-map", f"[{graph.audio[index]}]"] if graph.audio else [])


def with_previews(graph: LadderGraph, rungs: Sequence[Rung], timing: Timeline,
                  outdir: Path) -> tuple[LadderGraph, list[str]]:
    """``graph`` with the smallest rung's frames also cut into the poster and the GIF, and
    the output options writing those into ``outdir``: the encode run makes them from
    frames it has anyway, instead of a later run decoding the smallest file again."""
    index = min(range(len(rungs)), key=lambda i: rungs[i].pixels)
    label, small = graph.video[index], rungs[index]
    text = (f"{graph.text};[{label}]split=2[{label}e][pv];"
            + preview_filters("pv", small.width, small.height, timing.seconds,
                              float(timing.rate)))
    video = [f"{label}e" if i == index else v for i, v in enumerate(graph.video)]
    return LadderGraph(text, video, graph.audio), preview_outputs(outdir)


def encode_args(source: Path, outputs: Sequence[Path], info: SourceInfo,
                rungs: Sequence[Rung], settings: EncodeSettings, timing: Timeline,
                previews: Path | None = None) -> list[str]:
    """FFmpeg arguments encoding ``rungs`` of ``source`` to ``outputs`` in one run (and
    the poster and GIF into the directory ``previews``, if given)."""
    graph, extra = ladder_graph(info, rungs, timing), list[str]()
    if previews is not None:
        graph, extra = with_previews(graph, rungs, timing, previews)
    args = [*input_args(source, info.container), "-filter_complex", graph.text]
    for index, (rung, out) in enumerate(zip(rungs, outputs, strict=True)):
        args += [*stream_maps(graph, index), *codec_args(rung, info, settings, timing),
                 *MUXER_ARGS, str(out)]
    return [*args, *extra]
