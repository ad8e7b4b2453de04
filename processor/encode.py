"""The one FFmpeg run that decodes the source once and encodes every quality of the ladder.

The filter graph normalises the source once (constant frame rate, HDR tone-mapped to SDR,
8-bit 4:2:0, square pixels, autorotated by FFmpeg), scales it to the largest quality, then
splits that and scales each smaller quality from it. Demuxing, decoding, normalising and the
first scale happen once instead of once per quality, which is what makes one run cheaper
than one run per quality; the smaller scalers read the largest quality, not the source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from processor.cmaf import MUXER_ARGS
from processor.filters import has_filter
from processor.ladder import Rung
from processor.probe import SourceInfo

# Keyframe every 2 s in every quality (no scene-cut keyframes), so HLS can switch qualities
# at any segment boundary; segments are a whole number of GOPs.
GOP_SECONDS = 2
MAX_FPS = 60
# Capped CRF: constant quality, with each rung's maxrate/bufsize as the ceiling.
CRF = 23
_STANDARD_RATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001),
                   Fraction(30), Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60))
_SCALE_FLAGS = "bicubic"
# HDR → SDR: linearise, tone-map in float RGB (hable keeps highlights), back to BT.709 video.
_TONEMAP = ("zscale=tin={tin}:min={min}:pin={pin}:t=linear:npl=100,format=gbrpf32le,"
            "zscale=p=bt709,tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv")
_BT709_TAGS = ("-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709")


@dataclass(frozen=True)
class EncodeSettings:
    preset: str = "veryfast"
    crf: int = CRF


def output_rate(info: SourceInfo) -> Fraction:
    """The constant frame rate of every output: the source's average, snapped to a standard
    rate when within 2 % (variable-rate phones report e.g. 29.8), at most 60."""
    rate = Fraction(min(info.fps, MAX_FPS)).limit_denominator(1001)
    for standard in _STANDARD_RATES:
        if abs(rate - standard) / standard < Fraction(2, 100):
            return standard
    return Fraction(max(1, round(rate))) if info.is_vfr else rate


def gop_frames(rate: Fraction) -> int:
    return max(1, round(rate * GOP_SECONDS))


def ladder_graph(info: SourceInfo, rungs: Sequence[Rung]) -> tuple[str, list[str]]:
    """``-filter_complex`` text and one output label per rung (same order as ``rungs``)."""
    by_size = sorted(range(len(rungs)), key=lambda i: rungs[i].pixels, reverse=True)
    top = rungs[by_size[0]]
    chain = [f"fps={output_rate(info)}", *_tone_map(info),
             f"scale={top.width}:{top.height}:flags={_SCALE_FLAGS}", "format=yuv420p", "setsar=1"]
    labels = [f"v{i}" for i in range(len(rungs))]
    if len(rungs) == 1:
        return f"[0:{info.video_index}]{','.join(chain)}[{labels[0]}]", labels
    split = "".join(f"[s{i}]" for i in by_size)
    largest = by_size[0]
    parts = [f"[0:{info.video_index}]{','.join(chain)},split={len(rungs)}{split}",
             f"[s{largest}]null[v{largest}]"]
    parts += [f"[s{i}]scale={rungs[i].width}:{rungs[i].height}:flags={_SCALE_FLAGS}[v{i}]"
              for i in by_size[1:]]
    return ";".join(parts), labels


def _tone_map(info: SourceInfo) -> list[str]:
    if not info.is_hdr:
        return []
    if not has_filter("zscale") or not has_filter("tonemap"):
        # Documented fallback: without zimg, HDR is converted as if it were SDR (flat colours).
        return []
    return [_TONEMAP.format(tin=info.color_transfer,
                            min=info.color_space or "bt2020nc",
                            pin=info.color_primaries or "bt2020")]


def codec_args(rung: Rung, info: SourceInfo, settings: EncodeSettings) -> list[str]:
    """Encoder options of one quality (after its ``-map``s): H.264 + AAC, fixed GOP."""
    gop = str(gop_frames(output_rate(info)))
    args = ["-map_metadata", "-1", "-map_chapters", "-1",
            "-c:v", "libx264", "-preset", settings.preset, "-profile:v", "high",
            "-crf", str(settings.crf), "-maxrate", str(rung.maxrate),
            "-bufsize", str(rung.bufsize), "-g", gop, "-keyint_min", gop,
            "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-fps_mode", "cfr"]
    if info.is_hdr:
        args += _BT709_TAGS
    if info.has_audio:
        args += ["-c:a", "aac", "-b:a", str(rung.audio_bitrate), "-ac", "2"]
    return args


def stream_maps(label: str, info: SourceInfo) -> list[str]:
    return ["-map", f"[{label}]", *(["-map", "0:a:0"] if info.has_audio else [])]


def encode_args(source: Path, outputs: Sequence[Path], info: SourceInfo,
                rungs: Sequence[Rung], settings: EncodeSettings) -> list[str]:
    """FFmpeg arguments encoding ``rungs`` of ``source`` to ``outputs`` in one run."""
    graph, labels = ladder_graph(info, rungs)
    args = ["-i", str(source), "-filter_complex", graph]
    for rung, label, out in zip(rungs, labels, outputs, strict=True):
        args += [*stream_maps(label, info), *codec_args(rung, info, settings), *MUXER_ARGS,
                 str(out)]
    return args
