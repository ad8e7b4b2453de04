"""Intake: what a source really is, measured, and every way it is turned away (with its code)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from common.error_codes import ErrorCode
from processor.errors import BadInput
from processor.intake import intake
from processor.limits import Limits
from tests.support.clips import BAD_INPUTS
from tests.support.source_kinds import concat_list, fifo, hls_playlist

Clip = Callable[[str], Path]

BAD_INPUT_CODES = {
    "random_bytes": ErrorCode.NOT_MEDIA, "text": ErrorCode.NOT_MEDIA,
    "empty": ErrorCode.CORRUPT, "truncated": ErrorCode.CORRUPT,
    "truncated_faststart": ErrorCode.CORRUPT, "truncated_avi": ErrorCode.CORRUPT,
    "truncated_asf": ErrorCode.CORRUPT, "truncated_flv": ErrorCode.CORRUPT,
    "truncated_ogg": ErrorCode.CORRUPT, "truncated_vob": ErrorCode.CORRUPT,
    "truncated_dv": ErrorCode.CORRUPT,
    "audio_only": ErrorCode.NO_VIDEO,
    "image": ErrorCode.STILL_IMAGE,
}


def test_a_plain_clip(clip: Clip) -> None:
    info = intake(clip("ladder"))
    assert (info.width, info.height, info.video.rotation) == (1280, 720, 0)
    assert info.duration_s == pytest.approx(3.0, abs=0.1)
    assert info.claimed_duration_s == pytest.approx(3.0, abs=0.1)
    assert (info.container, info.video.fps, info.video.frame_count) == ("mov", 10.0, 30)
    assert not info.video.is_vfr and info.has_audio and not info.is_hdr
    assert (info.video.codec, info.video.pix_fmt, info.video.bit_depth) == ("h264", "yuv420p", 8)
    assert not info.video.interlaced and not info.video.full_range
    assert info.size_bytes == clip("ladder").stat().st_size
    assert info.audio is not None and (info.audio.channels, info.audio.codec) == (1, "aac")


def test_no_audio(clip: Clip) -> None:
    assert not intake(clip("no_audio")).has_audio


def test_variable_frame_rate(clip: Clip) -> None:
    info = intake(clip("vfr"))
    assert info.video.is_vfr and 5 < info.video.fps < 25


def test_hdr_hevc_10_bit(clip: Clip) -> None:
    video = intake(clip("hdr_hevc_10bit")).video
    assert (video.codec, video.bit_depth, video.pix_fmt) == ("hevc", 10, "yuv420p10le")
    assert (video.color_transfer, video.color_primaries) == ("smpte2084", "bt2020")
    assert video.is_hdr


def test_rotation_swaps_the_displayed_size(clip: Clip) -> None:
    info = intake(clip("rotated"))
    assert info.video.rotation in (90, 270)
    assert (info.width, info.height) == (240, 320)
    assert (info.video.width, info.video.height) == (320, 240)  # as coded


@pytest.mark.parametrize(("name", "size"), [("tiny", (64, 36)), ("wide", (2000, 200)),
                                            ("odd_size", (321, 241))])
def test_extreme_sizes(clip: Clip, name: str, size: tuple[int, int]) -> None:
    info = intake(clip(name))
    assert (info.width, info.height) == size


def test_a_browser_recording_without_a_duration_is_measured(clip: Clip) -> None:
    info = intake(clip("webm_no_duration"))
    assert info.claimed_duration_s is None
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    assert info.container == "matroska" and info.has_audio


def test_a_lying_header_is_measured_and_the_limit_applies_to_the_truth(clip: Clip) -> None:
    info = intake(clip("lying_duration"))
    assert info.claimed_duration_s == pytest.approx(1.0)
    assert info.duration_s == pytest.approx(6.0, abs=0.15)
    with pytest.raises(BadInput, match=r"too long: 6\.0 s exceeds the 3 s limit") as caught:
        intake(clip("lying_duration"), Limits(max_duration_s=3))
    assert caught.value.code == ErrorCode.TOO_LONG


def test_interlaced_broadcast_stream(clip: Clip) -> None:
    info = intake(clip("interlaced_ts"))
    assert (info.container, info.video.codec) == ("mpegts", "mpeg2video")
    assert (info.video.field_order, info.video.field_order_from) == ("tff", "frames")
    assert (info.video.sar_num, info.video.sar_den) == (16, 15)
    assert (info.width, info.height) == (768, 576)
    assert info.video.fps == 25.0 and info.audio is not None


def test_interlacing_no_flag_admits_is_detected(clip: Clip) -> None:
    video = intake(clip("combed")).video
    assert (video.field_order, video.field_order_from) == ("tff", "idet")


@pytest.mark.parametrize("name", ["full_range", "full_range_tagged"])
def test_full_range(clip: Clip, name: str) -> None:
    assert intake(clip(name)).video.full_range


def test_anamorphic_pixels_give_the_display_size(clip: Clip) -> None:
    info = intake(clip("anamorphic"))
    assert (info.video.width, info.video.height, info.width, info.height) == (720, 576, 1024, 576)


def test_the_pixel_limit_applies_to_the_coded_frame(clip: Clip) -> None:
    info = intake(clip("squeezed"))
    assert (info.width, info.height) == (512, 512)  # displayed: well inside the limit…
    with pytest.raises(BadInput, match="frame too large: 2048x512") as caught:
        intake(clip("squeezed"), Limits(max_pixels=600 * 600))  # …decoded: not
    assert caught.value.code == ErrorCode.TOO_MANY_PIXELS


def test_the_largest_program_with_its_own_audio(clip: Clip) -> None:
    info = intake(clip("multi_program"))
    assert (info.width, info.height, info.program_id) == (640, 360, 2)
    programs = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_programs", "-of", "json", str(clip("multi_program"))],
        capture_output=True, text=True, check=True).stdout)["programs"]
    members = {p["program_id"]: {s["index"] for s in p["streams"]} for p in programs}
    assert info.audio is not None and {info.video.index, info.audio.index} == members[2]


def test_a_one_picture_track_is_not_the_video_when_another_moves(clip: Clip) -> None:
    info = intake(clip("cover_track_first"))
    assert (info.video.index, info.width, info.height) == (1, 320, 240)
    assert info.video.frame_count == 50 and info.has_audio


def test_one_frame_is_a_video(clip: Clip) -> None:
    info = intake(clip("one_frame"))
    assert info.video.frame_count == 1
    assert info.duration_s == pytest.approx(1 / 24, abs=0.002)


@pytest.mark.parametrize(("name", "size", "frames"), [("gif", (98, 60), 15),
                                                      ("one_pixel_gif", (1, 1), 5)])
def test_gifs_are_video(clip: Clip, name: str, size: tuple[int, int], frames: int) -> None:
    info = intake(clip(name))
    assert (info.container, (info.width, info.height)) == ("gif", size)
    assert info.video.frame_count == frames and info.video.has_alpha


def test_alpha(clip: Clip) -> None:
    video = intake(clip("alpha")).video
    assert video.has_alpha and video.codec == "png"


def test_a_stream_cut_mid_gop_starts_at_its_first_decodable_frame(clip: Clip) -> None:
    info = intake(clip("no_initial_keyframe"))
    # Cut 30 % into a 4 s clip with a keyframe every 2 s: what decodes starts at 2 s.
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    assert info.audio is not None and info.audio_offset_s < -0.5  # audio from before the cut


def test_audio_start_offsets(clip: Clip) -> None:
    assert intake(clip("late_audio")).audio_offset_s == pytest.approx(0.5, abs=0.05)
    assert intake(clip("early_long_audio")).audio_offset_s == pytest.approx(-0.3, abs=0.05)


@pytest.mark.parametrize(("name", "reason"), BAD_INPUTS.items())
def test_bad_input_is_rejected_with_a_one_line_reason(clip: Clip, name: str, reason: str) -> None:
    with pytest.raises(BadInput, match=re.escape(reason)) as caught:
        intake(clip(name))
    assert "\n" not in str(caught.value) and str(clip(name).parent) not in str(caught.value)
    assert caught.value.code == BAD_INPUT_CODES[name]


@pytest.mark.parametrize("name", ["still_png", "jpeg_as_mp4", "image"])
def test_still_images_by_their_demuxer(clip: Clip, name: str) -> None:
    with pytest.raises(BadInput, match="still image") as caught:
        intake(clip(name))
    assert caught.value.code == ErrorCode.STILL_IMAGE


@pytest.mark.parametrize("name", ["truncated_avi", "truncated_asf", "truncated_flv",
                                  "truncated_ogg", "truncated_vob", "truncated_dv"])
def test_the_whole_file_a_truncated_one_was_cut_from_is_accepted(clip: Clip, name: str
                                                                 ) -> None:
    whole = clip(name).with_name("whole_" + clip(name).name)
    assert intake(whole).duration_s == pytest.approx(2.0, abs=0.1)


def test_raw_dv_with_bytes_before_its_first_dif_block_is_not_measured(clip: Clip,
                                                                       tmp_path: Path) -> None:
    # FFmpeg skips to the first DIF header and plays it all; the sequences cannot be
    # counted from the file's start, so the size proves nothing.
    whole = clip("truncated_dv").with_name("whole_truncated.dv")
    shifted = tmp_path / "shifted.dv"
    shifted.write_bytes(bytes(100) + whole.read_bytes())
    assert intake(shifted).duration_s == pytest.approx(2.0, abs=0.1)


def test_an_flv_written_to_a_pipe_declares_no_size_and_is_accepted(tmp_path: Path) -> None:
    # A live recorder cannot seek back to fill in onMetaData's filesize: it stays 0.
    path = tmp_path / "live.flv"
    with path.open("wb") as out:
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                        "testsrc2=size=320x240:rate=10", "-t", "2", "-c:v", "libx264",
                        "-f", "flv", "pipe:1"], stdout=out, check=True)
    assert intake(path).duration_s == pytest.approx(2.0, abs=0.2)


def test_an_animated_webp_is_named_as_such_not_as_a_still(clip: Clip) -> None:
    with pytest.raises(BadInput, match="an animated WebP image, not a video container") as caught:
        intake(clip("animated_webp"))
    assert caught.value.code == ErrorCode.NOT_MEDIA


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file: nope.mp4") as caught:
        intake(tmp_path / "nope.mp4")
    assert caught.value.code == ErrorCode.SOURCE_MISSING


@pytest.mark.parametrize(("limits", "reason", "code"), [
    (Limits(max_duration_s=2), "too long: 3.0 s exceeds the 2 s limit", ErrorCode.TOO_LONG),
    (Limits(max_size_bytes=1000), "file too big", ErrorCode.TOO_BIG),
    (Limits(max_pixels=640 * 360), "frame too large: 1280x720", ErrorCode.TOO_MANY_PIXELS),
])
def test_over_limits(clip: Clip, limits: Limits, reason: str, code: ErrorCode) -> None:
    with pytest.raises(BadInput, match=reason) as caught:
        intake(clip("ladder"), limits)
    assert caught.value.code == code


class FifoWatch:
    """A named pipe that records whether anything opened it for reading."""

    def __init__(self, path: Path) -> None:
        self.path = fifo(path)
        self.opened = threading.Event()
        self._thread = threading.Thread(target=self._wait, daemon=True)
        self._thread.start()

    def _wait(self) -> None:
        fd = os.open(self.path, os.O_WRONLY)  # blocks until a reader opens the pipe
        self.opened.set()
        os.close(fd)

    def close(self) -> None:
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # releases the watcher
        self._thread.join(5)
        os.close(fd)


@pytest.mark.parametrize(("maker", "name"), [(hls_playlist, "upload.m3u8"),
                                           (hls_playlist, "upload.mp4"),
                                           (concat_list, "upload.mp4")])
def test_a_list_naming_local_files_is_rejected_unread(
        tmp_path: Path, maker: Callable[[Path, Path], Path], name: str) -> None:
    watch = FifoWatch(tmp_path / "secret.ts")
    try:
        with pytest.raises(BadInput) as caught:
            intake(maker(tmp_path / name, watch.path))
        assert caught.value.code == ErrorCode.NOT_MEDIA
        assert not watch.opened.is_set()
    finally:
        watch.close()
    assert watch.opened.is_set()  # the watch itself works
    # Named as what it is, it is named in the reason (FFmpeg 7.1 no longer even probes a
    # playlist as HLS under a media file's name: then it is just not media).
    if name.endswith(".m3u8") or maker is concat_list:
        assert "refers to other files" in str(caught.value)


def test_without_the_whitelist_ffprobe_would_follow_the_playlist(tmp_path: Path) -> None:
    """The control for the test above: the danger is real with FFmpeg's defaults."""
    watch = FifoWatch(tmp_path / "secret.ts")
    playlist = hls_playlist(tmp_path / "upload.mp4", watch.path)
    probe = subprocess.Popen(["ffprobe", "-v", "quiet", str(playlist)])
    try:
        while not watch.opened.wait(0.2):
            if probe.poll() is not None:
                pytest.skip("this FFmpeg does not probe a playlist named .mp4 as HLS")
    finally:
        probe.kill()
        probe.wait()
        watch.close()
