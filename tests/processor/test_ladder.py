"""The quality ladder: which qualities a source gets, at which sizes."""

from __future__ import annotations

import pytest

from common.qualities import QUALITY_NAMES, work_factor
from processor.ladder import LADDER, choose_ladder

Sizes = list[tuple[str, int, int]]


def sizes(width: int, height: int, qualities: list[str] | None = None) -> Sizes:
    return [(r.name, r.width, r.height) for r in choose_ladder(width, height, qualities)]


def test_the_ladder_is_the_design_table() -> None:
    assert QUALITY_NAMES == ("480p", "720p", "1080p", "2160p")
    assert [(r.width, r.height) for r in LADDER] == [(854, 480), (1280, 720), (1920, 1080),
                                                     (3840, 2160)]
    caps = [r.maxrate for r in LADDER]
    assert caps == sorted(caps) and caps[0] == 1_200_000 and caps[-1] == 16_000_000


@pytest.mark.parametrize(("width", "height", "expected"), [
    (3840, 2160, [("480p", 854, 480), ("720p", 1280, 720), ("1080p", 1920, 1080),
                  ("2160p", 3840, 2160)]),
    (1920, 1080, [("480p", 854, 480), ("720p", 1280, 720), ("1080p", 1920, 1080)]),
    (1280, 720, [("480p", 854, 480), ("720p", 1280, 720)]),
    (854, 480, [("480p", 854, 480)]),
    # between rungs: only the rungs below, never an upscaled one
    (1000, 600, [("480p", 800, 480)]),
    # DCI 4K keeps its wider aspect inside the 4K box
    (4096, 2160, [("480p", 854, 450), ("720p", 1280, 676), ("1080p", 1920, 1012),
                  ("2160p", 3840, 2024)]),
])
def test_landscape_gets_every_rung_at_or_below_it(width: int, height: int,
                                                  expected: list[tuple[str, int, int]]) -> None:
    assert sizes(width, height) == expected


def test_portrait_compares_its_short_side() -> None:
    assert sizes(1080, 1920) == [("480p", 480, 854), ("720p", 720, 1280), ("1080p", 1080, 1920)]
    assert sizes(720, 1280)[-1] == ("720p", 720, 1280)


def test_square_source() -> None:
    assert sizes(1080, 1080) == [("480p", 480, 480), ("720p", 720, 720), ("1080p", 1080, 1080)]


@pytest.mark.parametrize(("width", "height", "expected"), [
    (640, 360, ("360p", 640, 360)),
    (321, 241, ("240p", 320, 240)),  # odd: rounded to even, never up
    (240, 320, ("240p", 240, 320)),  # portrait: named after the short side
    (64, 36, ("36p", 64, 36)),
    (2000, 200, ("200p", 2000, 200)),
    (3, 3, ("2p", 2, 2)),
])
def test_a_source_below_480p_gets_one_rung_at_its_own_size(
        width: int, height: int, expected: tuple[str, int, int]) -> None:
    (rung,) = choose_ladder(width, height)
    assert (rung.name, rung.width, rung.height) == expected
    assert 0 < rung.video_bitrate <= LADDER[0].video_bitrate


@pytest.mark.parametrize(("width", "height"), [(1921, 1081), (1279, 719), (855, 481),
                                               (4095, 2161), (1081, 1921), (333, 3333)])
def test_outputs_are_even_and_never_upscaled(width: int, height: int) -> None:
    for rung in choose_ladder(width, height):
        assert rung.width % 2 == 0 and rung.height % 2 == 0
        assert rung.width <= width and rung.height <= height
        # aspect kept within rounding to even numbers
        assert abs(rung.width / rung.height - width / height) < 0.02 * width / height


def test_requested_qualities_filter_the_ladder() -> None:
    assert sizes(1920, 1080, ["720p"]) == [("720p", 1280, 720)]
    assert [n for n, *_ in sizes(3840, 2160, ["4K", "480P"])] == ["480p", "2160p"]


def test_requested_qualities_above_the_source_fall_back_to_its_largest() -> None:
    assert sizes(1280, 720, ["1080p", "2160p"]) == [("720p", 1280, 720)]
    assert sizes(320, 240, ["720p"]) == [("240p", 320, 240)]


def test_unknown_quality_names_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown quality '8k'.*480p, 720p, 1080p, 2160p"):
        choose_ladder(1920, 1080, ["720p", "8k"])


def test_the_work_factor_counts_the_ladders_pixels_against_one_1080p_encode() -> None:
    # common/qualities.work_factor is the one estimate (submission writes it on the job).
    full_4k = choose_ladder(3840, 2160)
    assert work_factor([r.name for r in full_4k]) == pytest.approx(
        sum(r.width * r.height for r in full_4k) / (1920 * 1080))
