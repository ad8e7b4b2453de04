"""HLS packaging by stream copy: fMP4 segments per quality plus a master playlist.

The MP4s already have aligned keyframes every ``GOP_SECONDS``; the HLS muxer only cuts them
into segments (``-c copy``), nothing is encoded again. The master playlist is written here
because its BANDWIDTH must be the peak segment bitrate, which is known only after cutting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from processor.encode import GOP_SECONDS

SEGMENT_SECONDS = 3 * GOP_SECONDS
HLS_DIR = "hls"
MASTER_NAME = "master.m3u8"
PLAYLIST_NAME = "index.m3u8"
INIT_NAME = "init.mp4"
SEGMENT_PATTERN = "segment_%04d.m4s"
AAC_LC = "mp4a.40.2"


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


def playlist_path(outdir: Path, quality: str) -> Path:
    return outdir / HLS_DIR / quality / PLAYLIST_NAME


def package_args(mp4s: Sequence[Path], qualities: Sequence[str], outdir: Path) -> list[str]:
    """FFmpeg arguments cutting every MP4 into its own fMP4 HLS rendition in one run."""
    args: list[str] = []
    for mp4 in mp4s:
        args += ["-i", str(mp4)]
    for index, quality in enumerate(qualities):
        playlist = playlist_path(outdir, quality)
        playlist.parent.mkdir(parents=True, exist_ok=True)
        args += ["-map", str(index), "-c", "copy", "-f", "hls"]
        for option, value in hls_options(playlist).items():
            args += [f"-{option}", value]
        args.append(str(playlist))
    return args


def hls_options(playlist: Path) -> dict[str, str]:
    """HLS muxer options of one rendition: VOD, fMP4 segments of whole GOPs."""
    return {"hls_time": str(SEGMENT_SECONDS), "hls_playlist_type": "vod",
            "hls_segment_type": "fmp4", "hls_fmp4_init_filename": INIT_NAME,
            "hls_flags": "independent_segments",
            "hls_segment_filename": str(playlist.parent / SEGMENT_PATTERN)}


def rendition_files(playlist: Path) -> list[Path]:
    """The playlist, its init segment and its media segments."""
    lines = playlist.read_text().splitlines()
    uris = [line for line in lines if line and not line.startswith("#")]
    return [playlist, playlist.parent / INIT_NAME, *(playlist.parent / uri for uri in uris)]


def segment_bitrates(playlist: Path) -> list[int]:
    """Bits per second of each media segment (size over its EXTINF duration)."""
    rates, duration = [], 0.0
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].split(",", 1)[0])
        elif line and not line.startswith("#") and duration > 0:
            rates.append(round((playlist.parent / line).stat().st_size * 8 / duration))
    return rates


def avc1_codec(profile: str, level: int) -> str:
    """RFC 6381 codec string of an H.264 stream, e.g. ``avc1.64001f`` for High@3.1."""
    profile_idc = {"Constrained Baseline": (66, 0x40), "Baseline": (66, 0), "Main": (77, 0),
                   "High": (100, 0)}.get(profile, (100, 0))
    return f"avc1.{profile_idc[0]:02x}{profile_idc[1]:02x}{level:02x}"


def master_playlist(variants: Sequence[Variant]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for v in variants:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={v.peak_bitrate},AVERAGE-BANDWIDTH={v.average_bitrate},"
            f'RESOLUTION={v.width}x{v.height},FRAME-RATE={v.fps:.3f},CODECS="{v.codecs}"'
        )
        lines.append(f"{v.quality}/{PLAYLIST_NAME}")
    return "\n".join(lines) + "\n"
