"""Passthrough: taken exactly when the source's video fits the top rung, never when it
does not. When taken, the top rung's packets are the source's (framing aside), audio that
is AAC stereo is copied too, and every quality's keyframes and fragments follow the
source's GOPs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from processor import passthrough
from processor.cmaf import read_index
from processor.intake import intake
from processor.ladder import choose_ladder
from processor.passthrough import MAX_KEYFRAME_INTERVAL_S, VideoPackets, decide
from processor.transcode import transcode
from processor.transcode_settings import TranscodeSettings
from tests.support.media import keyframe_times, make_clip, probe_streams, video_stream

# A clean 720p H.264 High export: CFR, keyframes every 2 s, well within 720p's cap.
COMPLIANT = ["-preset", "veryfast", "-profile:v", "high", "-g", "20", "-keyint_min", "20",
             "-sc_threshold", "0", "-maxrate", "1500k", "-bufsize", "3000k",
             "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
             "-ac", "2", "-movflags", "+faststart"]
Maker = Callable[..., Path]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Maker:
    root = tmp_path_factory.mktemp("passthrough")

    def make(name: str, *, size: str = "1280x720", rate: int = 10, duration: float = 6.0,
             extra: list[str] | None = None, pix_fmt: str = "yuv420p") -> Path:
        return make_clip(root / f"{name}.mp4", duration=duration, size=size, rate=rate,
                         pix_fmt=pix_fmt, extra_output_args=[*COMPLIANT, *(extra or [])])

    return make


def _decision(path: Path) -> passthrough.Decision:
    info = intake(path)
    return passthrough.plan(path, info, choose_ladder(info.width, info.height))


def _payloads(path: Path, stream: str) -> list[str]:
    """MD5 of each packet's payload, in Annex B framing for video (so AVCC and Annex B
    sources compare), in decode order."""
    bsf = ["-bsf:v", "h264_mp4toannexb"] if stream == "v" else []
    out = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path),
                          "-map", f"0:{stream}:0", "-c", "copy", *bsf, "-f", "framemd5", "-"],
                         check=True, capture_output=True, text=True).stdout
    # stream, dts, pts, duration, size, hash[, side data]: the hash is the payload's.
    return [line.split(",")[5].strip() for line in out.splitlines()
            if line and not line.startswith("#")]


def test_a_compliant_source_is_copied_into_the_top_rung(source: Maker, tmp_path: Path) -> None:
    path = source("compliant")
    decision = _decision(path)
    assert decision.taken and decision.rung.name == "720p" and decision.copy_audio, decision
    transcode(path, tmp_path, settings=TranscodeSettings(encode=replace(
        TranscodeSettings().encode, preset="ultrafast")))
    top = tmp_path / "720p.mp4"
    assert _payloads(top, "v") == _payloads(path, "v")  # the source's packets, unchanged
    assert _payloads(top, "a") == _payloads(path, "a")  # AAC stereo: copied too
    # Every quality switches where the source's GOPs start: its keyframes, its fragments.
    keys = keyframe_times(path)
    assert keys == pytest.approx([0.0, 2.0, 4.0])
    for quality in ("480p", "720p"):
        assert keyframe_times(tmp_path / f"{quality}.mp4") == pytest.approx(keys)
        starts = [f.start_s for f in read_index(tmp_path / f"{quality}.mp4").fragments]
        assert starts == pytest.approx(keys)


def test_the_lower_rungs_follow_irregular_source_gops(source: Maker, tmp_path: Path) -> None:
    # Keyframes where an editor cut (at 0, 1.3, 3.0 and 4.6 s): not on a 2 s grid.
    path = source("irregular", extra=["-force_key_frames", "0,1.3,3.0,4.6", "-g", "100"])
    assert _decision(path).taken
    transcode(path, tmp_path)
    keys = keyframe_times(path)
    assert keys == pytest.approx([0.0, 1.3, 3.0, 4.6])
    assert keyframe_times(tmp_path / "480p.mp4") == pytest.approx(keys)


def test_audio_that_is_not_aac_stereo_is_encoded(source: Maker, tmp_path: Path) -> None:
    path = source("mono", extra=["-ac", "1"])
    decision = _decision(path)
    assert decision.taken and not decision.copy_audio
    transcode(path, tmp_path)
    audio = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
                            "stream=codec_name,channels", "-of", "csv=p=0",
                            str(tmp_path / "720p.mp4")], check=True, capture_output=True,
                           text=True).stdout.strip()
    assert audio == "aac,2"


@pytest.mark.parametrize(("name", "kwargs", "reason"), [
    ("ten_bit", {"pix_fmt": "yuv420p10le", "extra": ["-profile:v", "high10"]}, "8-bit"),
    ("wrong_size", {"size": "1600x900"}, "not the 720p rung's 1280x720"),
    ("too_fast", {"extra": ["-b:v", "8M", "-maxrate", "8M", "-bufsize", "8M",
                            "-x264-params", "nal-hrd=cbr:force-cfr=1"]}, "over 720p's cap"),
    ("vfr", {"rate": 30, "extra": ["-vf", "select='not(mod(n\\,3))+not(mod(n\\,7))'",
                                   "-fps_mode", "vfr"]}, "frame"),
    ("sparse_keyframes", {"duration": 12.0, "extra": ["-g", "100", "-keyint_min", "100"]},
     "keyframes 10.0 s apart"),
])
def test_passthrough_is_never_taken_when_the_source_does_not_fit(
        source: Maker, name: str, kwargs: dict, reason: str) -> None:
    decision = _decision(source(name, **kwargs))
    assert not decision.taken
    assert any(reason in r for r in decision.reasons), decision.reasons


def _packets(**changes: object) -> VideoPackets:
    fit = VideoPackets(keyframes_s=(0.0, 2.0, 4.0), first_is_key=True, start_s=0.0,
                       end_s=6.0, duration_spread_s=0.0, frame_s=0.04, peak_buffer_bits=1e6)
    return replace(fit, **changes)


@pytest.mark.parametrize(("changes", "reason"), [
    ({"first_is_key": False}, "first packet is not a keyframe"),
    ({"start_s": 1.4}, "starts at 1.400 s"),
    ({"duration_spread_s": 0.01}, "frame durations vary by 10.0 ms"),
    ({"keyframes_s": (0.0, 5.0)}, "keyframes 5.0 s apart"),
    ({"end_s": 4.0 + MAX_KEYFRAME_INTERVAL_S + 1}, "keyframes 5.0 s apart"),
    ({"peak_buffer_bits": 6e6}, "over 720p's cap of 2.8 Mb/s"),
    ({"keyframes_s": ()}, "no keyframe has a presentation timestamp"),
])
def test_each_packet_rule(source: Maker, changes: dict, reason: str) -> None:
    info = intake(source("compliant"))
    rungs = choose_ladder(info.width, info.height)
    assert decide(info, rungs, _packets()).taken
    decision = decide(info, rungs, _packets(**changes))
    assert not decision.taken and any(reason in r for r in decision.reasons), decision.reasons


@pytest.mark.parametrize(("changes", "reason"), [
    ({"level": 51}, "level 5.1 above 720p's 4"),
    ({"fps": 24.3}, "24.300 fps, which the ladder would change to 24.000"),
    ({"rotation": 90}, "rotated 90°"),
    ({"sar_num": 4, "sar_den": 3}, "pixels 4:3, not square"),
    ({"full_range": True}, "full range, not limited"),
    ({"color_transfer": "smpte2084"}, "not SDR BT.709"),
    ({"profile": "Constrained Baseline"}, "not Main or High"),
])
def test_each_header_rule(source: Maker, changes: dict, reason: str) -> None:
    info = intake(source("compliant"))
    rungs = choose_ladder(info.width, info.height)
    changed = replace(info, video=replace(info.video, **changes))
    decision = decide(changed, rungs, _packets())
    assert not decision.taken and any(reason in r for r in decision.reasons), decision.reasons


@pytest.mark.parametrize("name", ["camera.h264", "bframes.avi"])
def test_packets_without_presentation_times_are_encoded(tmp_path: Path, name: str) -> None:
    """A raw H.264 stream or an AVI with B-frames: every header fact fits, but no packet
    has a presentation time (only decode times, or none), so nothing is copied."""
    path = make_clip(tmp_path / name, duration=2, audio=False, extra_output_args=[
        "-preset", "veryfast", "-profile:v", "high", "-bf", "3"])
    decision = _decision(path)
    assert not decision.taken
    assert "no keyframe has a presentation timestamp" in decision.reasons
    manifest = transcode(path, tmp_path / "out", settings=TranscodeSettings(encode=replace(
        TranscodeSettings().encode, preset="ultrafast")))
    assert [a.quality for a in manifest.assets if a.type == "mp4"] == ["240p"]


def test_vbv_model_counts_bursts_against_the_buffer() -> None:
    fill = passthrough._peak_buffer
    assert fill([(0.0, 1000), (1.0, 1000)], maxrate=1000) == 1000  # drained in between
    assert fill([(0.0, 1000), (0.5, 1000)], maxrate=1000) == 1500


def test_a_source_whose_only_rung_is_copied_still_gets_a_poster_and_a_gif(
        source: Maker, tmp_path: Path) -> None:
    # Nothing is encoded, so the encode run has no frames to cut them from: the copied
    # file gives them instead.
    path = source("only_480p", size="854x480", extra=["-maxrate", "800k", "-bufsize", "1600k"])
    decision = _decision(path)
    assert decision.taken and decision.rung.name == "480p", decision
    assert not passthrough.makes_previews(decision, choose_ladder(854, 480))
    transcode(path, tmp_path)
    poster = video_stream(probe_streams(tmp_path / "thumbnail.jpg"))
    assert (poster["codec_name"], poster["width"], poster["height"]) == ("mjpeg", 854, 480)
    assert video_stream(probe_streams(tmp_path / "preview.gif"))["codec_name"] == "gif"


def test_the_packet_check_reads_the_file_as_it_is_now(source: Maker, tmp_path: Path) -> None:
    # Passthrough reuses the packet scan intake just made, but only of the same file
    # unchanged: one rewritten in between (here: with keyframes too far apart) is read again.
    good = source("rewritten_good")
    bad = source("rewritten_bad", duration=10.0, extra=["-g", "100", "-keyint_min", "100"])
    path = tmp_path / "upload.mp4"
    path.write_bytes(good.read_bytes())
    info = intake(path)
    path.write_bytes(bad.read_bytes())
    rungs = choose_ladder(info.width, info.height)
    stale = replace(info, size_bytes=path.stat().st_size)
    assert passthrough.scan(path, stale, rungs[-1]).keyframes_s == tuple(keyframe_times(bad))
    # The same file unchanged: the scan intake made serves, and gives what a new read does.
    fresh = intake(good)
    kept = passthrough.scan(good, fresh, rungs[-1])
    assert kept == passthrough.scan(good, fresh, rungs[-1])
    assert kept.keyframes_s == tuple(keyframe_times(good))
