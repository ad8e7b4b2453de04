"""The quality ladder: which rungs a source gets, and how each is encoded.

The names, aliases and boxes of the qualities are ``common/qualities.py``'s; this module
adds the bitrates and fits each box to a source.

A source gets every quality at or below its own size (the short side decides, so portrait
videos are treated like landscape ones); nothing is ever upscaled. A source smaller than the
lowest quality gets a single quality at its own (even) size, named after its short side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from common.qualities import QUALITIES, normalize


@dataclass(frozen=True)
class Rung:
    """One quality. ``width``/``height`` are the output size once chosen for a source (the
    landscape box in ``LADDER``). ``video_bitrate`` is the nominal rate of the quality; the
    encoder caps the rate at ``maxrate`` over a VBV buffer of ``bufsize`` bits."""

    name: str
    width: int
    height: int
    video_bitrate: int
    maxrate: int
    bufsize: int
    audio_bitrate: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def top_rung(rungs: Sequence[Rung]) -> Rung:
    """The largest of ``rungs``: the one passthrough copies the source into."""
    return max(rungs, key=lambda r: r.pixels)


def smallest_rung(rungs: Sequence[Rung]) -> Rung:
    """The smallest of ``rungs``: the one previews and the storyboard are cut from."""
    return min(rungs, key=lambda r: r.pixels)


def _rung(name: str, width: int, height: int, video: int, audio: int) -> Rung:
    # Capped CRF: the cap is the design's per-quality figure, with two seconds of buffer.
    return Rung(name, width, height, video, maxrate=video, bufsize=2 * video, audio_bitrate=audio)


# (video, audio) bits per second of each quality, smallest first.
_BITRATES = ((1_200_000, 96_000), (2_800_000, 128_000), (5_000_000, 128_000),
             (16_000_000, 160_000))
LADDER: tuple[Rung, ...] = tuple(
    _rung(q.name, q.width, q.height, video, audio)
    for q, (video, audio) in zip(QUALITIES, _BITRATES, strict=True)
)

_SMALL_AUDIO_BITRATE = 64_000
_MIN_VIDEO_BITRATE = 100_000


def _even(value: float, ceiling: int) -> int:
    """Nearest even integer to ``value``, at least 2 and at most ``ceiling`` (made even)."""
    top = max(2, ceiling - ceiling % 2)
    return max(2, min(top, 2 * round(value / 2)))


def fit(width: int, height: int, box_w: int, box_h: int) -> tuple[int, int]:
    """Even output size inside both the landscape box ``box_w``×``box_h`` (turned upright for
    a portrait source) and the source itself, keeping the source's aspect ratio."""
    if height > width:
        box_w, box_h = min(box_w, box_h), max(box_w, box_h)
    else:
        box_w, box_h = max(box_w, box_h), min(box_w, box_h)
    scale = min(box_w / width, box_h / height, 1.0)
    return _even(width * scale, min(box_w, width)), _even(height * scale, min(box_h, height))


def choose_ladder(width: int, height: int, qualities: Sequence[str] | None = None) -> list[Rung]:
    """The rungs a ``width``×``height`` (displayed) source is encoded to, smallest first.

    With ``qualities``, only those are kept; if none of them fits the source, the source's
    largest rung is returned so the video is still playable.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid frame size {width}x{height}")
    wanted = normalize(qualities) if qualities else None
    short = min(width, height)
    rungs = [replace(r, width=w, height=h) for r in LADDER if r.height <= short
             for w, h in [fit(width, height, r.width, r.height)]]
    if not rungs:
        return [_small_rung(width, height)]
    if wanted is None:
        return rungs
    return [r for r in rungs if r.name in wanted] or rungs[-1:]


def _small_rung(width: int, height: int) -> Rung:
    """A source below the lowest quality keeps its own size, at the lowest rung's density."""
    w, h = fit(width, height, width, height)
    low = LADDER[0]
    video = max(_MIN_VIDEO_BITRATE, round(low.video_bitrate * w * h / low.pixels))
    return _rung(f"{min(w, h)}p", w, h, video, _SMALL_AUDIO_BITRATE)
