"""One small clip per kind of real-world source intake must handle, made with ffmpeg on the
spot: muxer and bitstream options reproduce what browsers, phones, cameras and broadcast
recorders write (no duration, interlaced flags, full range, anamorphic pixels, several
programs, a cut-off GOP, a lying header, alpha, one frame…)."""

from __future__ import annotations

import os
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

_FFMPEG = ("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y")
X264 = ("-c:v", "libx264", "-preset", "ultrafast")


def ffmpeg(*args: str, stdout: Path | None = None) -> None:
    if stdout is None:
        subprocess.run([*_FFMPEG, *args], check=True, timeout=300)
        return
    with stdout.open("wb") as out:  # a pipe: the muxer cannot seek back to write indexes
        subprocess.run([*_FFMPEG, *args], check=True, stdout=out, timeout=300)


def pattern(size: str = "320x240", rate: int = 25, seconds: float = 2.0) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]


def tone(seconds: float = 2.0, frequency: int = 440, rate: int = 48000) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate={rate}:"
            f"duration={seconds}"]


def webm_without_duration(path: Path) -> Path:
    """What MediaRecorder writes: WebM streamed out with no duration and no cues."""
    ffmpeg(*pattern(rate=15), *tone(), "-c:v", "libvpx-vp9", "-deadline", "realtime",
           "-cpu-used", "8", "-c:a", "libopus", "-f", "webm", "pipe:1", stdout=path)
    return path


def interlaced_ts(path: Path) -> Path:
    """A DVB-style 576i25 MPEG-2 transport stream with MP2 audio: coded as interlaced
    (top field first), moving fields so a weave shows combing."""
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=720x576:rate=50:duration=1.2",
           *tone(1.2), "-vf", "tinterlace=interleave_top,setsar=16/15",
           "-c:v", "mpeg2video", "-flags", "+ilme+ildct", "-top", "1", "-b:v", "4M",
           "-c:a", "mp2", "-f", "mpegts", str(path))
    return path


def combed_progressive(path: Path) -> Path:
    """Interlaced 576i25 pictures coded as progressive frames (a careless conversion):
    only FFmpeg's idet can tell."""
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=720x576:rate=50:duration=1.2",
           "-vf", "tinterlace=interleave_top", "-c:v", "libvpx-vp9", "-deadline", "realtime",
           "-cpu-used", "8", "-b:v", "3M", "-an", str(path))
    return path


# White and black boxes, stretched to full range: luma really spans 0-255.
_FULL_SWING = ("format=yuv420p,drawbox=x=0:y=0:w=80:h=60:color=white:t=fill,"
               "drawbox=x=80:y=0:w=80:h=60:color=black:t=fill,scale=out_range=pc")


def full_range(path: Path) -> Path:
    """A JPEG-range (0-255) H.264, as many phones and action cameras record."""
    ffmpeg(*pattern(), *tone(), "-vf", _FULL_SWING, *X264, "-pix_fmt", "yuvj420p",
           "-c:a", "aac", str(path))
    return path


def full_range_tagged(path: Path) -> Path:
    """yuv420p with color_range=pc: full range said by the flag alone (FFmpeg 7's way)."""
    ffmpeg(*pattern(), "-vf", _FULL_SWING, *X264, "-pix_fmt", "yuv420p", "-color_range", "pc",
           "-an", str(path))
    return path


def anamorphic(path: Path) -> Path:
    """PAL DV-style 720x576 with 64:45 pixels: displayed 1024x576 (16:9)."""
    ffmpeg(*pattern(size="720x576", seconds=1), "-vf", "setsar=64/45", *X264, "-an",
           str(path))
    return path


def squeezed(path: Path, width: int = 2048, height: int = 512) -> Path:
    """A wide coded frame with 1:4 pixels: small when displayed, large when decoded."""
    ffmpeg(*pattern(size=f"{width}x{height}", seconds=0.2), "-vf", "setsar=1/4", *X264,
           "-an", str(path))
    return path


def multi_program_ts(path: Path) -> Path:
    """Two programs: a 320x240 one with a 440 Hz tone, a 640x360 one with 880 Hz."""
    ffmpeg(*pattern("320x240", seconds=1.5), *pattern("640x360", seconds=1.5),
           *tone(1.5, 440), *tone(1.5, 880), "-map", "0:v", "-map", "1:v", "-map", "2:a",
           "-map", "3:a", *X264, "-c:a", "aac",
           "-program", "program_num=1:title=small:st=0:st=2",
           "-program", "program_num=2:title=large:st=1:st=3", "-f", "mpegts", str(path))
    return path


def one_frame(path: Path) -> Path:
    ffmpeg(*pattern(size="64x64", rate=24, seconds=1), "-frames:v", "1", *X264, "-an",
           str(path))
    return path


def still_soundtrack(path: Path, seconds: float = 5.0) -> Path:
    """One picture muxed beside a whole soundtrack, as a cover image copied in beside a
    song is: the video track holds a single frame."""
    picture, song = (path.with_name(f"{path.stem}_picture.mp4"),
                     path.with_name(f"{path.stem}_song.m4a"))
    ffmpeg(*pattern(size="320x240", seconds=1), "-frames:v", "1", *X264, "-an", str(picture))
    ffmpeg(*tone(seconds), "-c:a", "aac", str(song))
    ffmpeg("-i", str(picture), "-i", str(song), "-map", "0:v", "-map", "1:a", "-c", "copy",
           str(path))
    return path


def sub_second(path: Path) -> Path:
    ffmpeg(*pattern(seconds=0.3), *tone(0.3), *X264, "-c:a", "aac", str(path))
    return path


def one_pixel_gif(path: Path) -> Path:
    ffmpeg(*pattern(size="16x16", rate=10, seconds=0.5), "-vf", "scale=1:1", "-f", "gif",
           str(path))
    return path


def animated_gif(path: Path) -> Path:
    ffmpeg(*pattern(size="99x61", rate=10, seconds=1.5), "-f", "gif", str(path))
    return path


def with_alpha(path: Path) -> Path:
    """PNG-in-MOV with a transparent left half (screen recorders, motion graphics)."""
    ffmpeg(*pattern(size="160x120", rate=10, seconds=1),
           "-vf", "format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,80),0,255)'",
           "-c:v", "png", "-pix_fmt", "rgba", str(path))
    return path


def no_initial_keyframe(path: Path) -> Path:
    """A transport stream cut mid-GOP, as recorders and segmenters leave them: the first
    packets reference pictures that are not there."""
    whole = path.with_name("whole_" + path.name)
    ffmpeg(*pattern(seconds=4), *tone(4), *X264, "-g", "50", "-bf", "2", "-c:a", "aac",
           "-f", "mpegts", str(whole))
    data = whole.read_bytes()
    packets = len(data) // 188
    path.write_bytes(data[(packets * 3 // 10) * 188:])  # cut at a TS packet boundary
    return path


def late_audio(path: Path, offset: float = 0.5) -> Path:
    """Audio that starts ``offset`` s after the video and ends 0.4 s before it."""
    ffmpeg(*pattern(seconds=2), "-itsoffset", str(offset), *tone(2 - offset - 0.4),
           *X264, "-c:a", "aac", str(path))
    return path


def early_long_audio(path: Path) -> Path:
    """Audio that starts 0.3 s before the video and runs 1 s past its end (MKV keeps both
    start times)."""
    ffmpeg("-itsoffset", "0.3", *pattern(seconds=2), *tone(3.3), *X264, "-c:a", "aac",
           str(path))
    return path


def lying_duration(path: Path, seconds: float = 6.0, claimed: float = 1.0) -> Path:
    """An MP4 of ``seconds`` whose headers (mvhd, tkhd, mdhd) all claim ``claimed``."""
    ffmpeg(*pattern(size="160x120", rate=10, seconds=seconds), *X264, "-an", str(path))
    data = bytearray(path.read_bytes())
    for box, offset in ((b"mvhd", 16), (b"tkhd", 24), (b"mdhd", 16)):
        at = data.find(box)
        while at != -1:
            version = data[at + 4]
            scale_at = at + 4 + (12 if box != b"tkhd" else 0) + (8 if version else 0)
            if box == b"tkhd":  # no timescale of its own: the movie's
                scale = _movie_timescale(data)
                field = at + offset + (8 if version else 0)
            else:
                scale = struct.unpack(">I", data[scale_at:scale_at + 4])[0]
                field = scale_at + 4
            size = 8 if version else 4
            data[field:field + size] = int(claimed * scale).to_bytes(size, "big")
            at = data.find(box, at + 4)
    path.write_bytes(bytes(data))
    return path


def _movie_timescale(data: bytearray) -> int:
    at = data.find(b"mvhd")
    version = data[at + 4]
    start = at + 4 + 4 + (16 if version else 8)
    return int(struct.unpack(">I", data[start:start + 4])[0])


def hls_playlist(path: Path, target: Path) -> Path:
    """An HLS playlist (named like a video) that points at a local file."""
    path.write_text(f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n"
                    f"file:{target}\n#EXTINF:10.0,\n{target}\n#EXT-X-ENDLIST\n")
    return path


def concat_list(path: Path, target: Path) -> Path:
    path.write_text(f"ffconcat version 1.0\nfile '{target}'\n")
    return path


def still_png(path: Path) -> Path:
    ffmpeg(*pattern(seconds=1), "-frames:v", "1", "-f", "image2", "-c:v", "png", str(path))
    return path


def animated_webp(path: Path) -> Path:
    ffmpeg(*pattern(size="160x120", rate=10, seconds=1), "-c:v", "libwebp_anim", "-loop", "0",
           str(path))
    return path


def jpeg_named_mp4(path: Path) -> Path:
    ffmpeg(*pattern(seconds=1), "-frames:v", "1", "-f", "image2", "-c:v", "mjpeg", str(path))
    return path


def cover_track_first(path: Path) -> Path:
    """An MKV whose first video track is one large JPEG (cover art muxed as a plain track,
    as remuxing a music file with its picture leaves it), then the real 320x240 video."""
    cover = path.with_name(f"cover_{path.stem}.jpg")
    ffmpeg("-f", "lavfi", "-i", "color=red:size=640x640", "-frames:v", "1", str(cover))
    ffmpeg("-i", str(cover), *pattern(), *tone(), "-map", "0:v", "-map", "1:v", "-map", "2:a",
           "-c:v:0", "copy", "-c:v:1", "libx264", "-preset", "ultrafast", "-c:a", "aac",
           str(path))
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


Maker = Callable[[Path], Path]


# name: (file name, maker), for the ``clip`` fixture beside tests.support.clips.RECIPES.
KINDS: dict[str, tuple[str, Maker]] = {
    "webm_no_duration": ("recording.webm", webm_without_duration),
    "interlaced_ts": ("broadcast.ts", interlaced_ts),
    "combed": ("combed.webm", combed_progressive),
    "full_range": ("fullrange.mp4", full_range),
    "full_range_tagged": ("fullrange_tagged.mp4", full_range_tagged),
    "anamorphic": ("anamorphic.mp4", anamorphic),
    "squeezed": ("squeezed.mp4", squeezed),
    "multi_program": ("programs.ts", multi_program_ts),
    "one_frame": ("one_frame.mp4", one_frame),
    "still_soundtrack": ("still_soundtrack.mp4", still_soundtrack),
    "sub_second": ("short.mp4", sub_second),
    "gif": ("animated.gif", animated_gif),
    "one_pixel_gif": ("pixel.gif", one_pixel_gif),
    "alpha": ("alpha.mov", with_alpha),
    "no_initial_keyframe": ("midgop.ts", no_initial_keyframe),
    "late_audio": ("late_audio.mp4", late_audio),
    "early_long_audio": ("early_audio.mkv", early_long_audio),
    "lying_duration": ("lying.mp4", lying_duration),
    "cover_track_first": ("cover_first.mkv", cover_track_first),
    "still_png": ("photo.png", still_png),
    "jpeg_as_mp4": ("photo.mp4", jpeg_named_mp4),
    "animated_webp": ("sticker.webp", animated_webp),
}
