"""Which streams of a source to use, read from ffprobe's report.

The video is the largest (width × height × frame rate) one this FFmpeg can decode; in an
MPEG-TS with several programs the audio comes from the same program. Cover art, thumbnail
tracks and still images are never the video; audio tracks with no channels never the
audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from common.error_codes import ErrorCode
from processor.errors import BadInput
from processor.ffmpeg_build import can_decode

Stream = dict[str, Any]

# Codecs FFmpeg knows only as single pictures (JPEG, PNG and GIF also carry video).
_STILL_CODECS = frozenset({
    "bmp", "tiff", "webp", "jpegls", "jpegxl", "pam", "pbm", "pgm", "pgmyuv", "ppm", "pfm",
    "sgi", "targa", "dpx", "exr", "pcx", "xbm", "xpm", "xwd", "sunrast", "qoi", "photocd",
    "hdr", "fits", "psd", "dds", "ptx", "pictor", "gem", "alias_pix", "brender_pix", "txd",
    "vbn", "msp2", "sga",
})
# ISO BMFF brands of still-image files (HEIF/AVIF photos) that the mov demuxer also opens.
_STILL_BRANDS = frozenset({"avif", "heic", "heix", "heim", "heis", "mif1", "mif2", "jpeg",
                           "avci"})
_SECONDARY_AUDIO = ("comment", "visual_impaired", "hearing_impaired", "descriptions",
                    "dependent")
# Fourccs of codecs some FFmpeg versions do not know at all (codec_name "unknown").
_FOURCC_NAMES = {"vvc1": "H.266/VVC", "vvi1": "H.266/VVC", "evc1": "MPEG-5 EVC",
                 "apv1": "APV"}


@dataclass(frozen=True)
class Choice:
    """One video stream worth trying, with the audio streams that go with it (best first)."""

    video: Stream
    audio: list[Stream]
    program_id: int | None


def choices(data: dict[str, Any]) -> list[Choice]:
    """Every decodable video stream, best first; :class:`BadInput` if there is none."""
    streams: list[Stream] = data.get("streams", [])
    videos = [s for s in streams if s.get("codec_type") == "video" and not _flag(s, "attached_pic")
              and not _flag(s, "timed_thumbnails")]
    if not videos:
        audio = any(_real_audio(s) for s in streams)
        raise BadInput("no video stream (audio only)" if audio else "no video stream",
                       code=ErrorCode.NO_VIDEO)
    moving = [s for s in videos if not _is_still(s, data.get("format", {}))]
    if not moving:
        raise BadInput(f"a still image ({_codec(videos[0])}), not a video",
                       code=ErrorCode.STILL_IMAGE)
    decodable = [s for s in moving if can_decode(_codec(s))]
    if not decodable:
        raise BadInput(f"unsupported video codec {codec_label(moving[0])}: this FFmpeg "
                       "cannot decode it", code=ErrorCode.UNSUPPORTED_CODEC)
    decodable.sort(key=lambda s: (-_pixel_rate(s), not _flag(s, "default"), s["index"]))
    programs = data.get("programs") or []
    return [_choice(s, streams, programs) for s in decodable]


def _choice(video: Stream, streams: list[Stream], programs: list[dict[str, Any]]) -> Choice:
    program = next((p for p in programs
                    if any(s.get("index") == video["index"] for s in p.get("streams", []))),
                   None)
    if program is not None:
        members = {s.get("index") for s in program.get("streams", [])}
        pool = [s for s in streams if s.get("index") in members]
    else:
        pool = streams
    audio = [s for s in pool if _real_audio(s)]
    audio.sort(key=lambda s: (not _flag(s, "default"),
                              any(_flag(s, d) for d in _SECONDARY_AUDIO), s["index"]))
    return Choice(video, audio, int(program["program_id"]) if program and len(programs) > 1
                  else None)


def _real_audio(stream: Stream) -> bool:
    return (stream.get("codec_type") == "audio" and int(stream.get("channels") or 0) > 0
            and int(stream.get("sample_rate") or 0) > 0 and can_decode(_codec(stream)))


def _is_still(stream: Stream, fmt: dict[str, Any]) -> bool:
    brand = str(fmt.get("tags", {}).get("major_brand", "")).strip().lower()
    return (_flag(stream, "still_image") or _codec(stream) in _STILL_CODECS
            or brand in _STILL_BRANDS)


def _pixel_rate(stream: Stream) -> float:
    fps = rate(stream.get("avg_frame_rate")) or rate(stream.get("r_frame_rate")) or 1.0
    return int(stream.get("width") or 0) * int(stream.get("height") or 0) * min(fps, 240.0)


def _flag(stream: Stream, name: str) -> bool:
    return bool(stream.get("disposition", {}).get(name))


def _codec(stream: Stream) -> str:
    return str(stream.get("codec_name") or "unknown")


def codec_label(stream: Stream) -> str:
    """A codec as a person can look it up: "vvc", or the fourcc when FFmpeg has no name."""
    name = _codec(stream)
    if name not in ("unknown", "none"):
        return name
    tag = str(stream.get("codec_tag_string", "")).strip()
    if tag and not tag.startswith("["):
        return f"{_FOURCC_NAMES[tag]} ({tag})" if tag in _FOURCC_NAMES else f"'{tag}'"
    return "(unidentified)"


def rate(text: Any) -> float:
    """A frame rate such as "30000/1001" as a float; 0 when absent or malformed."""
    try:
        value = Fraction(str(text or "0"))
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value)
