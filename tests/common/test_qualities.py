"""Quality names: one list, one set of aliases, the same answer for every caller."""

from __future__ import annotations

import pytest

from common.qualities import QUALITY_NAMES, UnknownQuality, fitting, normalize, work_factor
from processor.ladder import choose_ladder
from videoforge.commands.transcode import _qualities


@pytest.mark.parametrize(("given", "expected"), [
    (["4k"], ["2160p"]), (["4K"], ["2160p"]), (["2160p"], ["2160p"]), (["UHD"], ["2160p"]),
    (["2160"], ["2160p"]), ([" 1080P ", "fhd", "FullHD"], ["1080p"]),
    (["720p", "480p", "hd", "sd"], ["480p", "720p"]),
])
def test_aliases_normalise_to_canonical_names_smallest_first(given, expected) -> None:
    assert normalize(given) == expected


@pytest.mark.parametrize("given", [["8k"], ["720p", "nope"], []])
def test_unknown_or_empty_requests_say_what_to_choose(given) -> None:
    with pytest.raises(UnknownQuality, match="480p|no quality"):
        normalize(given)


def test_the_cli_and_the_ladder_take_the_same_names() -> None:
    assert _qualities(["4k,720P"]) == ["720p", "2160p"]
    assert [r.name for r in choose_ladder(3840, 2160, ["UHD"])] == ["2160p"]


def test_fitting_and_work_factor() -> None:
    assert fitting(1920, 1080) == ["480p", "720p", "1080p"]
    assert fitting(1080, 1920) == ["480p", "720p", "1080p"]  # portrait: the short side
    assert fitting(320, 240) == ["480p"] and fitting(None, None) == list(QUALITY_NAMES)
    assert work_factor(["1080p"]) == 1.0 and work_factor(["2160p"]) == 4.0
