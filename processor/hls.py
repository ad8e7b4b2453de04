"""HLS playlists over the CMAF files: byte ranges, no second copy of the media.

Each variant playlist names its quality's one CMAF file: the init segment is ``EXT-X-MAP``
with a ``BYTERANGE``, each media segment an ``EXT-X-BYTERANGE`` of consecutive fragments.
The file's URI appears once, in an ``EXT-X-DEFINE`` (HLS version 8 variable substitution),
so the streaming service swaps one relative path for one presigned URL, whatever the length.

Nothing here runs FFmpeg: packaging reads the boxes the encoder wrote (processor/cmaf.py),
so the same step packages one run's output or chunk outputs joined by stream copy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from processor.cmaf import CmafIndex
from processor.errors import TranscodeError

HLS_DIR = "hls"
MASTER_NAME = "master.m3u8"
# Segments of about three 2 s fragments: Apple's recommended 6 s, and a 2-hour variant
# playlist stays near 60 KB (about 50 bytes per segment).
SEGMENT_TARGET_S = 6.0
MEDIA_VARIABLE = "media"
HLS_VERSION = 8  # EXT-X-DEFINE (RFC 8216bis section 4.4.2.3)
AAC_LC = "mp4a.40.2"
# Qualities' fragments must start at the same instants to switch cleanly; a quarter of a
# frame at 60 fps is far below any real misalignment (a whole frame) and above rounding.
_ALIGNMENT_TOLERANCE_S = 0.004


class Misaligned(TranscodeError):
    """The qualities' fragments do not start at the same instants."""


@dataclass(frozen=True)
class Variant:
    """One quality as the master playlist lists it."""

    quality: str
    width: int
    height: int
    fps: float
    codecs: str
    peak_bitrate: int
    average_bitrate: int


def variant_name(quality: str) -> str:
    return f"{quality}.m3u8"


def playlist_path(outdir: Path, quality: str) -> Path:
    return outdir / HLS_DIR / variant_name(quality)


def segment_starts(index: CmafIndex) -> list[int]:
    """Indexes of the fragments that begin a segment: a new segment once the current one
    holds at least ``SEGMENT_TARGET_S`` (fragments follow the GOPs, so segments do too)."""
    starts, held = [], math.inf
    for i, fragment in enumerate(index.fragments):
        if held >= SEGMENT_TARGET_S - 1e-3:
            starts.append(i)
            held = 0.0
        held += fragment.duration_s
    return starts


def check_aligned(indexes: Sequence[tuple[str, CmafIndex]]) -> None:
    """Raise :class:`Misaligned` unless every quality's fragments start at the same times."""
    (first_name, first), *others = indexes
    for name, index in others:
        if len(index.fragments) != len(first.fragments) or any(
                abs(a.start_s - b.start_s) > _ALIGNMENT_TOLERANCE_S
                for a, b in zip(first.fragments, index.fragments, strict=True)):
            raise Misaligned(f"fragments of {name} and {first_name} are not aligned, "
                             "so HLS could not switch between them")


def segments(index: CmafIndex, starts: Sequence[int]) -> list[tuple[int, int, float]]:
    """(offset, size, duration) of each segment: the fragments from one start to the next."""
    out = []
    bounds = [*starts, len(index.fragments)]
    for first, stop in zip(bounds, bounds[1:], strict=False):
        group = index.fragments[first:stop]
        out.append((group[0].offset, sum(f.size for f in group),
                    sum(f.duration_s for f in group)))
    return out


def variant_playlist(index: CmafIndex, starts: Sequence[int], media_uri: str) -> str:
    """The VOD playlist of one CMAF file at ``media_uri`` (relative to the playlist)."""
    parts = segments(index, starts)
    if not parts:
        raise TranscodeError("a CMAF file without fragments cannot be packaged")
    # Every EXTINF rounded to the nearest integer must be at most the target duration.
    target = max(math.floor(duration + 0.5) for _, _, duration in parts) or 1
    ref = f"{{${MEDIA_VARIABLE}}}"
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", f"#EXT-X-TARGETDURATION:{target}",
             "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS",
             f'#EXT-X-DEFINE:NAME="{MEDIA_VARIABLE}",VALUE="{media_uri}"',
             f'#EXT-X-MAP:URI="{ref}",BYTERANGE="{index.init_size}@0"']
    follows = -1  # where the previous range ended: a range right after it needs no offset
    for offset, size, duration in parts:
        at = "" if offset == follows else f"@{offset}"
        lines += [f"#EXTINF:{duration:.3f},", f"#EXT-X-BYTERANGE:{size}{at}", ref]
        follows = offset + size
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def segment_bitrates(index: CmafIndex, starts: Sequence[int]) -> list[int]:
    """Bits per second of each segment (its bytes over its duration)."""
    return [round(size * 8 / duration) for _, size, duration in segments(index, starts)
            if duration > 0]


def avc1_codec(profile: str, level: int) -> str:
    """RFC 6381 codec string of an H.264 stream, e.g. ``avc1.64001f`` for High@3.1."""
    profile_idc = {"Constrained Baseline": (66, 0x40), "Baseline": (66, 0), "Main": (77, 0),
                   "High": (100, 0)}.get(profile, (100, 0))
    return f"avc1.{profile_idc[0]:02x}{profile_idc[1]:02x}{level:02x}"


def master_playlist(variants: Sequence[Variant]) -> str:
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for v in variants:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={v.peak_bitrate},AVERAGE-BANDWIDTH={v.average_bitrate},"
            f'RESOLUTION={v.width}x{v.height},FRAME-RATE={v.fps:.3f},CODECS="{v.codecs}"'
        )
        lines.append(variant_name(v.quality))
    return "\n".join(lines) + "\n"
