"""The correct ladder for every playable kind of source, checked on the outputs: duration
kept, display aspect kept, even sizes, limited-range BT.709 4:2:0, audio ending with the
video, clean decodes, progressive frames (see tests.support.ladder_checks)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from common.assets import AssetKind
from processor.chunking.plan import ChunkPolicy
from processor.chunking.prepare import plan_source
from processor.encode import output_rate, timeline
from processor.intake import intake
from processor.ladder import choose_ladder
from processor.manifest import Manifest
from processor.transcode import transcode
from tests.support.ladder_checks import check_ladder, ffprobe, presented
from tests.support.transcoding import FAST

Clip = Callable[[str], Path]


def _sizes(manifest: Manifest) -> list[tuple[int | None, int | None]]:
    return [(a.width, a.height) for a in manifest.of_type(AssetKind.MP4)]


def _signal(path: Path, crop: str = "") -> dict[str, float]:
    """signalstats of the first frame: luma/chroma ranges after decoding."""
    filters = f"{crop + ',' if crop else ''}signalstats,metadata=print:file=-"
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-vf",
                          filters, "-f", "null", "-"], capture_output=True, text=True,
                         check=True).stdout
    return {k: float(v) for k, v in re.findall(r"lavfi\.signalstats\.(\w+)=([\d.]+)", out)}


@pytest.mark.parametrize("name", ["interlaced_ts", "combed"])
def test_interlaced_sources_come_out_progressive_at_the_frame_rate(
        clip: Clip, tmp_path: Path, name: str) -> None:
    manifest = check_ladder(transcode_to(tmp_path, clip(name)), clip(name), interlaced=True)
    video = ffprobe("-show_streams", str(tmp_path / "480p.mp4"))["streams"][0]
    assert video["avg_frame_rate"] == "25/1"  # one frame per frame, not per field
    assert manifest.source.video.interlaced


@pytest.mark.parametrize("name", ["full_range", "full_range_tagged"])
def test_full_range_becomes_limited(clip: Clip, tmp_path: Path, name: str) -> None:
    check_ladder(transcode_to(tmp_path, clip(name)), clip(name))
    source, output = _signal(clip(name)), _signal(tmp_path / "240p.mp4")
    assert source["YMAX"] > 250 and source["YMIN"] < 5  # really full range…
    assert output["YMIN"] >= 16 - 2 and output["YMAX"] <= 235 + 2  # …and now limited


def test_anamorphic_gets_square_pixels_at_the_display_aspect(clip: Clip, tmp_path: Path
                                                            ) -> None:
    manifest = check_ladder(transcode_to(tmp_path, clip("anamorphic")), clip("anamorphic"))
    assert _sizes(manifest) == [(854, 480)]


def test_alpha_is_flattened_onto_black(clip: Clip, tmp_path: Path) -> None:
    manifest = check_ladder(transcode_to(tmp_path, clip("alpha")), clip("alpha"))
    (quality,) = [a.path for a in manifest.of_type(AssetKind.MP4)]
    clear = _signal(tmp_path / quality, crop="crop=iw/2-8:ih:0:0")  # the transparent half
    assert clear["YMAX"] <= 20


@pytest.mark.parametrize(("name", "sizes"), [
    ("gif", [(98, 60)]), ("one_pixel_gif", [(2, 2)]), ("one_frame", [(64, 64)]),
    ("sub_second", [(320, 240)]), ("multi_program", [(640, 360)]),
    ("cover_track_first", [(320, 240)]),
])
def test_small_and_short_sources_give_a_ladder_a_poster_and_a_gif(
        clip: Clip, tmp_path: Path, name: str, sizes: list[tuple[int, int]]) -> None:
    manifest = check_ladder(transcode_to(tmp_path, clip(name)), clip(name))
    assert _sizes(manifest) == sizes
    for kind in (AssetKind.THUMBNAIL, AssetKind.PREVIEW):
        (asset,) = manifest.of_type(kind)
        assert asset.size > 0


def test_a_single_picture_is_held_for_its_whole_soundtrack(clip: Clip, tmp_path: Path
                                                           ) -> None:
    """Cover art muxed beside a song: every quality lasts the song, the picture held, and
    the audio is not cut to one frame."""
    info = intake(clip("still_soundtrack"))
    assert info.video.frame_count == 1 and info.duration_s == pytest.approx(5.0, abs=0.05)
    manifest = transcode(clip("still_soundtrack"), tmp_path, settings=FAST)
    for asset in manifest.of_type(AssetKind.MP4):
        streams = ffprobe("-show_streams", str(tmp_path / asset.path))["streams"]
        assert [s["codec_type"] for s in streams] == ["video", "audio"]
        assert [float(s["duration"]) for s in streams] == pytest.approx([5.0, 5.0], abs=0.05)
    cues = (tmp_path / "storyboard.vtt").read_text()
    assert cues.rstrip().splitlines()[-2].endswith("--> 00:00:05.000")


def test_a_single_picture_is_not_cut_into_chunks(clip: Clip) -> None:
    source = clip("still_soundtrack")
    info = intake(source)
    scan = plan_source(source, info, choose_ladder(info.width, info.height), timeline(info),
                       ChunkPolicy(threshold_s=2.0, chunk_s=2.0))
    assert scan.decision.plan is None and scan.decision.reason == "not cut: a single picture"


@pytest.mark.parametrize("name", ["no_initial_keyframe", "late_audio", "early_long_audio",
                                  "webm_no_duration"])
def test_audio_and_video_start_and_end_together(clip: Clip, tmp_path: Path, name: str
                                                ) -> None:
    manifest = check_ladder(transcode_to(tmp_path, clip(name)), clip(name))
    (asset,) = manifest.of_type(AssetKind.MP4)
    mp4 = tmp_path / asset.path
    (audio_start, _), (video_start, _) = presented(mp4, "a"), presented(mp4, "v")
    assert abs(audio_start - video_start) < 0.001


def test_a_lying_header_does_not_shorten_the_output(clip: Clip, tmp_path: Path) -> None:
    manifest = check_ladder(transcode_to(tmp_path, clip("lying_duration")),
                            clip("lying_duration"))
    assert manifest.of_type(AssetKind.MP4)[0].duration == pytest.approx(6.0, abs=0.15)


def test_the_encode_stops_at_the_duration_limit_whatever_intake_measured(clip: Clip) -> None:
    """The encode's own bound: its frame count never passes the limit, so a source that
    turned out longer than measured still stops there."""
    info = intake(clip("ladder"))
    assert timeline(info).frames == 30  # 3 s at 10 fps
    assert timeline(replace(info, duration_s=4000.0), max_duration_s=3.0).frames == 30


def transcode_to(outdir: Path, source: Path) -> Path:
    transcode(source, outdir, settings=FAST)
    return outdir


@pytest.mark.parametrize(("fps", "expected"), [
    (24.0, Fraction(24)), (23.976, Fraction(24000, 1001)), (29.8, Fraction(30000, 1001)),
    (25.3, Fraction(25)), (59.94, Fraction(60000, 1001)), (120.0, Fraction(60)),
    (7.22, Fraction(7)), (12.5, Fraction(25, 2)),
])
def test_the_output_rate_is_the_nearest_standard_one(clip: Clip, fps: float,
                                                     expected: Fraction) -> None:
    info = intake(clip("small"))
    vfr = fps == 7.22
    assert output_rate(replace(info, video=replace(info.video, fps=fps, is_vfr=vfr))) == expected
