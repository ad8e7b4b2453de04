"""Unusual but valid sources all transcode: checked on the output of each."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from common.models import AssetKind
from processor.transcode import transcode
from tests.support.cmaf import packet_counts
from tests.support.media import probe_streams, video_stream
from tests.support.transcoding import FAST

Clip = Callable[[str], Path]

# source clip → (quality, output width, height)
EXPECTED = {
    "no_audio": ("240p", 320, 240),
    "vfr": ("240p", 320, 240),
    "hdr_hevc_10bit": ("240p", 320, 240),
    "hdr_transfer_only": ("240p", 320, 240),
    "odd_size": ("240p", 320, 240),
    "rotated": ("240p", 240, 320),
    "tiny": ("36p", 64, 36),
    "wide": ("200p", 2000, 200),
}


@pytest.mark.parametrize("name", EXPECTED)
def test_odd_source_transcodes(clip: Clip, tmp_path: Path, name: str) -> None:
    quality, width, height = EXPECTED[name]
    manifest = transcode(clip(name), tmp_path, settings=FAST)
    assert [(a.quality, a.width, a.height) for a in manifest.of_type(AssetKind.MP4)] == [
        (quality, width, height)]
    info = probe_streams(tmp_path / f"{quality}.mp4")
    video = video_stream(info)
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert (video["width"], video["height"]) == (width, height)
    assert video["r_frame_rate"] == video["avg_frame_rate"]  # constant frame rate
    assert not video.get("side_data_list")  # rotation applied, not left to the player
    for asset in manifest.assets:
        assert (tmp_path / asset.path).stat().st_size > 0
    CHECKS.get(name, lambda *_: None)(info, tmp_path)


def _no_audio(info: dict[str, Any], outdir: Path) -> None:
    assert [s["codec_type"] for s in info["streams"]] == ["video"]
    master = (outdir / "hls" / "master.m3u8").read_text()
    assert 'CODECS="avc1.' in master and "mp4a" not in master
    assert "{$media}" in (outdir / "hls" / "240p.m3u8").read_text()  # its one media file


def _hdr(info: dict[str, Any], outdir: Path) -> None:
    video = video_stream(info)
    assert (video["color_transfer"], video["color_primaries"]) == ("bt709", "bt709")


def _vfr(info: dict[str, Any], outdir: Path) -> None:
    video = video_stream(info)
    # A fragmented MP4's header holds no frame count: count the packets.
    frames = packet_counts(outdir / "240p.mp4")["video"]
    duration = float(video["duration"])
    assert frames == pytest.approx(duration * Fraction(video["avg_frame_rate"]), abs=1.5)


CHECKS: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "no_audio": _no_audio, "hdr_hevc_10bit": _hdr, "hdr_transfer_only": _hdr, "vfr": _vfr,
}
