"""The named source clips of the transcoder tests (the ``clip`` fixture makes each on
first use), and the words a bad one's BadInput message must contain."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.support.media import HDR10_ARGS, make_clip, rotate_clip


def _truncated(path: Path, *, faststart: bool) -> Path:
    """A real clip cut in half: without faststart the index (moov) is lost, with it the
    index survives but points past the end of the file."""
    whole = make_clip(path.with_name("whole_" + path.name), duration=2,
                      extra_output_args=["-movflags", "+faststart"] if faststart else [])
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _cut_in_half(path: Path, vcodec: str, acodec: str, *, size: str = "320x240",
                 audio_args: tuple[str, ...] = ()) -> Path:
    """A real AVI, ASF, FLV, Ogg, MPEG-PS or raw DV cut about in half: it still opens and plays up
    to the cut, but it declares about twice the bytes (in its header, or in the Ogg page or
    the pack the cut falls in: a few bytes past the middle, so not on a 2048-byte DVD pack's
    or a 12000-byte DV DIF sequence's boundary, where a cut could not be told from an end)."""
    whole = make_clip(path.with_name("whole_" + path.name), duration=2, size=size,
                      vcodec=vcodec, extra_output_args=["-c:a", acodec, *audio_args])
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 7])
    return path


def _image(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "testsrc2=size=320x240", "-frames:v", "1", str(path)], check=True)
    return path


RECIPES: dict[str, tuple[str, Callable[[Path], Path]]] = {
    # name: (file name, maker)
    "ladder": ("ladder.mp4", lambda p: make_clip(p, duration=3, size="1280x720", rate=10)),
    "small": ("small.mp4", lambda p: make_clip(p, size="160x120", rate=10)),
    "no_audio": ("no_audio.mp4", lambda p: make_clip(p, audio=False, rate=10)),
    "vfr": ("vfr.mp4", lambda p: make_clip(p, duration=2, extra_output_args=[
        "-vf", r"select=not(mod(n\,3))+lt(n\,8)", "-fps_mode", "vfr"])),
    "hdr_hevc_10bit": ("hdr.mp4", lambda p: make_clip(
        p, rate=10, vcodec="libx265", pix_fmt="yuv420p10le",
        extra_output_args=[*HDR10_ARGS, "-tag:v", "hvc1"])),
    # HDR that tags only its transfer: no primaries, no matrix.
    "hdr_transfer_only": ("hdr_trc.mp4", lambda p: make_clip(
        p, rate=10, vcodec="libx265", pix_fmt="yuv420p10le",
        extra_output_args=["-color_trc", "smpte2084", "-tag:v", "hvc1"])),
    "odd_size": ("odd.mp4", lambda p: make_clip(
        p, rate=10, pix_fmt="yuv444p", extra_output_args=["-vf", "scale=321:241"])),
    "rotated": ("rotated.mp4", lambda p: rotate_clip(
        make_clip(p.with_name("unrotated.mp4"), rate=10), p, 90)),
    "tiny": ("tiny.mp4", lambda p: make_clip(p, size="64x36", rate=10)),
    "wide": ("wide.mp4", lambda p: make_clip(p, size="2000x200", rate=10)),
    # bad inputs
    "random_bytes": ("random.mp4", lambda p: _write(p, os.urandom(64 * 1024))),
    "text": ("notes.txt", lambda p: _write(p, b"this is not a video\n" * 100)),
    "empty": ("empty.mp4", lambda p: _write(p, b"")),
    "truncated": ("truncated.mp4", lambda p: _truncated(p, faststart=False)),
    "truncated_faststart": ("truncated_fs.mp4", lambda p: _truncated(p, faststart=True)),
    "truncated_avi": ("truncated.avi", lambda p: _cut_in_half(p, "mjpeg", "pcm_s16le")),
    "truncated_asf": ("truncated.wmv", lambda p: _cut_in_half(p, "wmv2", "wmav2")),
    "truncated_flv": ("truncated.flv", lambda p: _cut_in_half(p, "libx264", "aac")),
    "truncated_ogg": ("truncated.ogv", lambda p: _cut_in_half(p, "libtheora", "libvorbis")),
    "truncated_vob": ("truncated.vob", lambda p: _cut_in_half(p, "mpeg2video", "mp2")),
    "truncated_dv": ("truncated.dv", lambda p: _cut_in_half(
        p, "dvvideo", "pcm_s16le", size="720x576", audio_args=("-ac", "2"))),
    "audio_only": ("audio.m4a", lambda p: make_clip(p, video=False)),
    "image": ("still.jpg", _image),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# Bad source clip (see RECIPES) → words its BadInput message must contain.
BAD_INPUTS = {
    "random_bytes": "not a media file",
    "text": "not a media file",
    "empty": "empty file",
    "truncated": "truncated",
    "truncated_faststart": "truncated",
    "truncated_avi": "truncated: the file ends at",
    "truncated_asf": "truncated: the file ends at",
    "truncated_flv": "truncated: the file ends at",
    "truncated_ogg": "truncated: the file ends at",
    "truncated_vob": "truncated: the file ends at",
    "truncated_dv": "truncated: the file ends at",
    "audio_only": "no video stream (audio only)",
    "image": "still image",
}
