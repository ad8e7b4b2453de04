"""Filters that turn whatever intake found into the one shape every quality is cut from.

Video: alpha flattened (premultiplied, i.e. composited on black), interlaced fields woven
into progressive frames by bwdif (one frame per frame), the first decodable frame at time
zero, a constant frame rate, exactly ``frames`` frames. Then one scale to the top quality
that also converts full range to limited and any matrix to BT.709.

Audio: aligned with the first video frame (silence in front when it starts later, cut
when earlier), gaps filled, stereo at 48 kHz, padded or cut to end with the video.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from processor.source_info import SourceInfo

if TYPE_CHECKING:
    from processor.encode import Timeline

AUDIO_RATE = 48_000
SCALE_FLAGS = "bicubic"
# ffprobe's color_space → the scale filter's name for that matrix.
_MATRICES = {"bt709": "bt709", "smpte170m": "bt601", "bt470bg": "bt601", "bt2020nc": "bt2020",
             "bt2020c": "bt2020", "fcc": "fcc", "smpte240m": "smpte240m"}
_YUV_PREFIXES = ("yuv", "nv", "p01", "p21", "p41", "y210", "uyvy", "yuyv", "ayuv", "vuya")


def video_chain(info: SourceInfo, timing: Timeline) -> list[str]:
    """From decoded source frames to ``timing.frames`` opaque progressive frames at
    ``timing.rate`` (those of its window, for a chunk)."""
    rate, frames = timing.rate, timing.frames
    video = info.video
    chain: list[str] = []
    if video.has_alpha:
        planar = "yuva444p" if video.pix_fmt.startswith("yuva") else "gbrap"
        chain += [f"format={planar}", "premultiply=inplace=1"]
    if video.interlaced:
        # Frames flagged one by one are deinterlaced one by one (mixed content stays
        # sharp); a stream known interlaced only as a whole is deinterlaced throughout.
        which = "interlaced" if video.field_order_from == "frames" else "all"
        chain.append(f"bwdif=mode=send_frame:parity={video.field_order}:deint={which}")
    seconds = float(frames / rate)
    # The last frame is held if the source runs short of the measured length, so every
    # output has exactly ``frames`` frames and the audio can be cut to the same length.
    hold = f"tpad=stop_mode=clone:stop_duration={seconds:.6f}"
    if timing.origin_s is None:
        return [*chain, "setpts=PTS-STARTPTS", f"fps={rate}:start_time=0", hold,
                f"trim=end_frame={frames}"]
    # A window: frames keep their place on the whole timeline (the fps filter picks the
    # same source frame for each slot as the whole run), those before it are dropped.
    skip = timing.first - timing.decoded_from
    return [*chain, f"setpts=PTS-{timing.origin_s:.6f}/TB",
            f"fps={rate}:start_time={float(timing.decoded_from / rate):.6f}", hold,
            f"trim=start_frame={skip}:end_frame={skip + frames}", "setpts=PTS-STARTPTS"]


def top_scale(info: SourceInfo, width: int, height: int, *, converted: bool) -> str:
    """The scale to the largest quality, which also makes the range limited and the matrix
    BT.709. ``converted``: earlier filters (tone mapping, alpha) already left YUV/RGB."""
    options = [f"{width}:{height}", f"flags={SCALE_FLAGS}"]
    video = info.video
    if not converted and video.pix_fmt.startswith(_YUV_PREFIXES):
        matrix = _MATRICES.get(video.color_space) or (
            "bt709" if video.height >= 720 else "bt601")
        options += [f"in_range={'pc' if video.full_range else 'tv'}",
                    f"in_color_matrix={matrix}"]
    options += ["out_range=tv", "out_color_matrix=bt709"]
    return "scale=" + ":".join(options)


def audio_chain(info: SourceInfo, seconds: float) -> list[str]:
    """From the chosen audio track to stereo that starts and ends with the video."""
    offset = info.audio_offset_s
    shift = f"{offset:+.6f}/TB" if abs(offset) >= 1e-6 else ""
    return [f"asetpts=PTS-STARTPTS{shift}",
            # async: gaps and overlaps over 0.1 s are filled or dropped; first_pts=0 pads
            # or trims the start so the audio begins exactly with the first video frame.
            f"aresample={AUDIO_RATE}:async=1:first_pts=0",
            "aformat=sample_fmts=fltp:channel_layouts=stereo",
            f"apad=whole_dur={seconds:.6f}", f"atrim=end={seconds:.6f}"]
