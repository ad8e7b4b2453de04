"""The chunked job's audio task: which bitrates it encodes."""

from __future__ import annotations

from processor.chunking.audio import audio_rungs
from processor.ladder import choose_ladder


def _bitrates(width: int, height: int, *, copy: bool) -> list[int]:
    return [r.audio_bitrate for r in audio_rungs(choose_ladder(width, height), copy=copy)]


def test_each_audio_bitrate_is_encoded_once() -> None:
    assert _bitrates(3840, 2160, copy=False) == [96_000, 128_000, 160_000]


def test_a_copied_top_rungs_bitrate_is_not_encoded_for_it_alone() -> None:
    # 4K's 160 kb/s is the top rung's only: it gets the source's AAC stereo copied instead.
    assert _bitrates(3840, 2160, copy=True) == [96_000, 128_000]
    # 1080p's 128 kb/s is 720p's too: still encoded, once.
    assert _bitrates(1920, 1080, copy=True) == [96_000, 128_000]
    # One rung, copied: nothing to encode.
    assert _bitrates(640, 360, copy=True) == []
