"""ffprobe validation: what a source looks like, and every way it can be bad input."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from processor.errors import BadInput
from processor.limits import Limits
from processor.probe import probe
from tests.support.clips import BAD_INPUTS

Clip = Callable[[str], Path]


def test_a_plain_clip(clip: Clip) -> None:
    info = probe(clip("ladder"))
    assert (info.width, info.height, info.rotation) == (1280, 720, 0)
    assert info.duration_s == pytest.approx(3.0, abs=0.1)
    assert info.fps == pytest.approx(10.0)
    assert not info.is_vfr and info.has_audio and not info.is_hdr
    assert (info.video_codec, info.pix_fmt, info.bit_depth) == ("h264", "yuv420p", 8)
    assert info.size_bytes == clip("ladder").stat().st_size


def test_no_audio(clip: Clip) -> None:
    assert not probe(clip("no_audio")).has_audio


def test_variable_frame_rate(clip: Clip) -> None:
    info = probe(clip("vfr"))
    assert info.is_vfr and 5 < info.fps < 25


def test_hdr_hevc_10_bit(clip: Clip) -> None:
    info = probe(clip("hdr_hevc_10bit"))
    assert (info.video_codec, info.bit_depth, info.pix_fmt) == ("hevc", 10, "yuv420p10le")
    assert (info.color_transfer, info.color_primaries) == ("smpte2084", "bt2020")
    assert info.is_hdr


def test_odd_size(clip: Clip) -> None:
    info = probe(clip("odd_size"))
    assert (info.width, info.height) == (321, 241)


def test_rotation_swaps_the_displayed_size(clip: Clip) -> None:
    info = probe(clip("rotated"))
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (240, 320)


@pytest.mark.parametrize(("name", "size"), [("tiny", (64, 36)), ("wide", (2000, 200))])
def test_extreme_sizes(clip: Clip, name: str, size: tuple[int, int]) -> None:
    info = probe(clip(name))
    assert (info.width, info.height) == size


@pytest.mark.parametrize(("name", "reason"), BAD_INPUTS.items())
def test_bad_input_is_rejected_with_a_one_line_reason(clip: Clip, name: str, reason: str) -> None:
    with pytest.raises(BadInput, match=re.escape(reason)) as caught:
        probe(clip(name))
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        probe(tmp_path / "nope.mp4")


@pytest.mark.parametrize(("limits", "reason"), [
    (Limits(max_duration_s=2), "too long: 3.0 s exceeds the 2 s limit"),
    (Limits(max_size_bytes=1000), "file too big"),
    (Limits(max_pixels=640 * 360), "frame too large: 1280x720"),
])
def test_over_limits(clip: Clip, limits: Limits, reason: str) -> None:
    with pytest.raises(BadInput, match=reason):
        probe(clip("ladder"), limits)
