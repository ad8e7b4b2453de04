"""What intake found a source to be: the typed result every later step reads.

Measured where it matters (duration, frame count, decoded frame size, first decodable
frame), taken from the container where nothing better exists. It is also the ``source``
section of ``manifest.json``, so it round-trips through :meth:`SourceInfo.to_dict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from typing import Any

_HDR_TRANSFERS = {"smpte2084", "arib-std-b67"}  # PQ (HDR10) and HLG
PROGRESSIVE, TOP_FIRST, BOTTOM_FIRST = "progressive", "tff", "bff"


@dataclass(frozen=True)
class VideoStream:
    index: int  # absolute stream index in the container
    codec: str
    width: int  # the decoded (coded) frame: before the sample aspect ratio and rotation
    height: int
    sar_num: int  # sample (pixel) aspect ratio; 1:1 when the stream says nothing
    sar_den: int
    rotation: int  # display-matrix angle, counter-clockwise degrees as ffprobe reports: 0-359
    fps: float  # average frame rate
    is_vfr: bool
    frame_count: int  # packets of this stream, counted
    start_s: float  # timestamp of the first frame that decodes (the stream's own clock)
    pix_fmt: str
    bit_depth: int
    has_alpha: bool
    full_range: bool  # "pc"/JPEG range: 0-255 rather than 16-235
    color_space: str
    color_transfer: str
    color_primaries: str
    field_order: str  # PROGRESSIVE, TOP_FIRST or BOTTOM_FIRST
    field_order_from: str  # "stream" (flags), "idet" (detected) or "" (progressive)
    profile: str = ""  # as ffprobe names it ("High", "Main 10")
    level: int = 0  # as ffprobe reports it (40 for H.264 level 4.0); 0 when unknown
    bitrate: int = 0

    @property
    def sar(self) -> Fraction:
        return Fraction(self.sar_num, self.sar_den)

    @property
    def coded_pixels(self) -> int:
        return self.width * self.height

    @property
    def interlaced(self) -> bool:
        return self.field_order != PROGRESSIVE

    @property
    def is_hdr(self) -> bool:
        return self.color_transfer in _HDR_TRANSFERS


@dataclass(frozen=True)
class AudioStream:
    index: int  # absolute stream index in the container
    codec: str
    channels: int
    sample_rate: int
    start_s: float  # timestamp of its first decoded frame (the stream's own clock)


@dataclass(frozen=True)
class SourceInfo:
    name: str  # the file name as given (no directory)
    container: str  # the demuxer every later FFmpeg run is forced to ("mov", "matroska"…)
    format_name: str  # ffprobe's full name for it ("mov,mp4,m4a,3gp,3g2,mj2")
    size_bytes: int
    duration_s: float  # measured: first decodable frame to the end of the last packet
    claimed_duration_s: float | None  # what the container says (None: nothing)
    width: int  # as displayed: square pixels, rotation applied
    height: int
    video: VideoStream
    audio: AudioStream | None
    program_id: int | None = None  # the MPEG-TS program chosen, when there are several

    @property
    def has_audio(self) -> bool:
        return self.audio is not None

    @property
    def is_hdr(self) -> bool:
        return self.video.is_hdr

    @property
    def audio_offset_s(self) -> float:
        """How much later than the first video frame the audio starts (negative: earlier)."""
        return self.audio.start_s - self.video.start_s if self.audio else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceInfo:
        values = _known(cls, data)
        values["video"] = VideoStream(**_known(VideoStream, data["video"]))
        audio = data.get("audio")
        values["audio"] = AudioStream(**_known(AudioStream, audio)) if audio else None
        return cls(**values)


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    # Manifests written by an older version may lack or carry extra keys.
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}
