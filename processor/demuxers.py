"""Which containers FFmpeg may open, and how every run opens the source.

Detecting a container is itself sniffing: left to itself FFmpeg would pick the demuxer
from the bytes, and some demuxers open other files or URLs the bytes name (HLS and DASH
playlists, concat lists, image sequences, SDP/RTSP, scripts). So intake probes with a
whitelist of self-contained video containers and the ``file`` protocol only, and every
later run has the container forced to what intake found.
"""

from __future__ import annotations

from pathlib import Path

# Self-contained video containers (FFmpeg demuxer names): each reads only the one input.
# mov's external data references are off by default (its ``enable_drefs`` option).
VIDEO_DEMUXERS: tuple[str, ...] = (
    "mov", "matroska", "avi", "mpegts", "mpeg", "flv", "ogg", "asf", "ivf", "dv", "mxf",
    "nut", "rm", "wtv", "gif", "apng", "yuv4mpegpipe",
    # raw elementary streams
    "h264", "hevc", "vvc", "mpegvideo", "m4v", "obu", "av1", "h261", "h263", "vc1",
    "cavsvideo", "dirac",
)
FORMAT_WHITELIST = ",".join(VIDEO_DEMUXERS)
# Containers whose timestamps may jump (broadcast streams; FFmpeg's AVFMT_TS_DISCONT).
DISCONTINUOUS = frozenset({"mpegts", "mpeg", "flv"})

# What a rejected demuxer means, for the one-line reason.
_IMAGE_DEMUXERS = frozenset({"image2", "webp", "jpegxl_anim"})
_AUDIO_DEMUXERS = frozenset({
    "mp3", "wav", "w64", "flac", "aac", "ac3", "eac3", "dts", "truehd", "mlp", "amr",
    "amrnb", "amrwb", "aiff", "au", "caf", "ape", "wv", "tta", "tak", "mpc", "mpc8", "opus",
    "spdif", "loas", "latm", "gsm", "voc", "wsaud", "xwma", "dsf", "iff", "rso", "sox",
})
_REFERENCE_DEMUXERS = frozenset({
    "hls", "dash", "concat", "webm_dash_manifest", "sdp", "rtsp", "rtp", "avisynth",
    "vapoursynth", "imf", "ffmetadata", "image2pipe", "lavfi", "libmodplug",
})
_TEXT_DEMUXERS = frozenset({"tty", "bin", "xbin", "idf", "adf"})


def is_image_demuxer(name: str) -> bool:
    return name in _IMAGE_DEMUXERS or (name.endswith("_pipe") and name != "image2pipe")


def rejected_reason(name: str) -> tuple[str, str]:
    """(kind, sentence) for a demuxer outside the whitelist; kind is "image", "audio" or
    "other"."""
    if is_image_demuxer(name):
        return "image", f"a still image ({name}), not a video"
    if name in _AUDIO_DEMUXERS:
        return "audio", f"no video stream: an audio-only file ({name})"
    if name in _REFERENCE_DEMUXERS:
        return "other", (f"not a media file: a {name} playlist or script that refers to "
                         "other files is not accepted; upload the video itself")
    if name in _TEXT_DEMUXERS:
        return "other", "not a media file (it looks like text)"
    return "other", f"not a video container this service accepts ({name})"


def container_of(format_name: str) -> str:
    """The demuxer name to force (``-f``) for ffprobe's ``format_name`` ("mov,mp4,…")."""
    return format_name.split(",", 1)[0]


def input_args(path: Path, container: str | None) -> list[str]:
    """Options and ``-i`` for opening the source: ``file`` protocol only, the container
    forced (or, before intake knows it, restricted to the whitelist)."""
    forced = ["-f", container, "-format_whitelist", container] if container else [
        "-format_whitelist", FORMAT_WHITELIST]
    return ["-protocol_whitelist", "file", *forced, "-i", f"file:{path}"]

