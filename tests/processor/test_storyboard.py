"""The storyboard: which keyframes become tiles, cues covering the whole duration, and a
real sprite sheet made from keyframes only."""

from __future__ import annotations

from pathlib import Path

import pytest

from processor.storyboard import (
    COLUMNS,
    MAX_TILES,
    MIN_INTERVAL_S,
    interval,
    make_storyboard,
    plan,
    sprite_args,
    webvtt,
)
from processor.transcode import transcode
from tests.support.cmaf import parse_cues
from tests.support.media import make_clip, probe_streams, video_stream
from tests.support.transcoding import FAST


def test_one_tile_every_few_seconds_or_a_hundredth_of_the_duration() -> None:
    assert interval(10) == MIN_INTERVAL_S
    assert interval(7200) == 72.0
    long = plan([2.0 * i for i in range(3600)], 7200.0, 854, 480)
    assert len(long.frames) == MAX_TILES and long.frames[1] == 36  # the keyframe at 72 s
    assert (long.tile_width, long.tile_height) == (160, 90)
    portrait = plan([0.0], 5.0, 480, 854)
    assert (portrait.tile_width, portrait.tile_height) == (90, 160)


def test_cues_cover_the_duration_and_merge_where_keyframes_are_sparse() -> None:
    # Keyframes every 5 s, tiles every 3 s: some intervals show the same keyframe.
    board = plan([0.0, 5.0, 10.0], 14.0, 854, 480)
    assert board.frames == (0, 1, 2)
    assert board.cues == ((0.0, 6.0, 0), (6.0, 12.0, 1), (12.0, 14.0, 2))
    cues = parse_cues(webvtt(board))
    assert cues[0][0] == 0.0 and cues[-1][1] == 14.0
    assert all(a[1] == b[0] for a, b in zip(cues, cues[1:], strict=False))
    assert [c[3] for c in cues] == [(0, 0, 160, 90), (160, 0, 160, 90), (320, 0, 160, 90)]


def test_sprite_is_made_from_keyframes_only() -> None:
    board = plan([0.0, 2.0, 4.0, 6.0], 9.0, 854, 480)  # tiles at 0, 3 and 6 s
    args = sprite_args(Path("in.mp4"), board, Path("out.jpg"))
    assert args[:2] == ["-skip_frame", "nokey"]
    assert "select='eq(n\\,0)+eq(n\\,1)+eq(n\\,3)'" in args[args.index("-vf") + 1]


def test_a_real_storyboard(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "clip.mp4", duration=25.0, size="320x240", rate=10)
    outdir = tmp_path / "out"
    manifest = transcode(source, outdir, settings=FAST)
    kinds = {a.type: a for a in manifest.assets}
    assert {"storyboard", "storyboard_vtt"} <= set(kinds)
    cues = parse_cues((outdir / "storyboard.vtt").read_text())
    assert cues[0][0] == 0.0 and cues[-1][1] == pytest.approx(25.0, abs=0.05)
    assert all(a[1] == b[0] for a, b in zip(cues, cues[1:], strict=False))
    assert {c[2] for c in cues} == {"storyboard.jpg"}
    tiles = {c[3] for c in cues}
    assert len(tiles) == 9  # every 3 s; keyframes every 2 s, so each interval has its own
    sprite = video_stream(probe_streams(outdir / "storyboard.jpg"))
    tile_w, tile_h = 120, 90  # 4:3 in the 160x90 box
    assert {(w, h) for _, _, w, h in tiles} == {(tile_w, tile_h)}
    assert (sprite["width"], sprite["height"]) == (min(COLUMNS, 9) * tile_w, tile_h)
    assert max(x for x, _, _, _ in tiles) == 8 * tile_w
    again = make_storyboard(outdir / "240p.mp4", tmp_path, width=320, height=240,
                            duration_s=25.0)
    assert [a.size for a in again] == [kinds["storyboard"].size, kinds["storyboard_vtt"].size]
