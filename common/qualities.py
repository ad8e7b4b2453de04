"""Quality names: which exist, what callers may call them, and how much work each is.

The one place the CLI (``videoforge transcode --quality``), the API (``POST /api/jobs``,
upload confirm) and the ladder (``processor/ladder.py``) learn the names from, so a name
one of them accepts the others accept too. The ladder adds what encoding needs (bitrates,
the size fitted to a source); this module knows only each quality's landscape box.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Quality:
    name: str
    width: int   # the landscape box; a portrait source turns it upright
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


QUALITIES: tuple[Quality, ...] = (
    Quality("480p", 854, 480),
    Quality("720p", 1280, 720),
    Quality("1080p", 1920, 1080),
    Quality("2160p", 3840, 2160),
)
QUALITY_NAMES: tuple[str, ...] = tuple(q.name for q in QUALITIES)
_BY_NAME = {q.name: q for q in QUALITIES}
# What people type for a quality, lower-cased; the canonical names map to themselves.
ALIASES: dict[str, str] = {
    **{name: name for name in QUALITY_NAMES},
    **{name.removesuffix("p"): name for name in QUALITY_NAMES},
    "4k": "2160p", "uhd": "2160p",
    "fhd": "1080p", "fullhd": "1080p",
    "hd": "720p",
    "sd": "480p",
}
# Work is counted in units of encoding one second of 1080p (the autoscaler's unit).
REFERENCE_PIXELS = _BY_NAME["1080p"].pixels


class UnknownQuality(ValueError):
    """A requested quality that is not one of ours; the message lists the choices."""


def normalize(requested: Iterable[str]) -> list[str]:
    """Canonical names for ``requested`` ("4K" → "2160p"), each once, smallest first.

    Raises UnknownQuality for a name we do not know, or for an empty request.
    """
    given = list(requested)
    names = [ALIASES.get(q.strip().lower()) for q in given]
    unknown = [q for q, name in zip(given, names, strict=True) if name is None]
    if unknown:
        raise UnknownQuality(f"unknown quality {', '.join(map(repr, unknown))}; choose from "
                             f"{', '.join(QUALITY_NAMES)} (or 4k, uhd, fhd, hd, sd)")
    if not names:
        raise UnknownQuality("no quality requested; leave qualities out for every quality "
                             "the source allows")
    return sorted({n for n in names if n}, key=QUALITY_NAMES.index)


def fitting(width: int | None, height: int | None) -> list[str]:
    """The qualities a source of this size gets (its short side decides); every quality
    when the size is not known yet, the smallest when the source is below it."""
    if not width or not height:
        return list(QUALITY_NAMES)
    short = min(width, height)
    return [q.name for q in QUALITIES if q.height <= short] or [QUALITY_NAMES[0]]


def work_factor(names: Sequence[str]) -> float:
    """Encode work of producing ``names`` per source second, relative to one 1080p output
    (by pixel count: x264's cost grows about linearly with it)."""
    return sum(_BY_NAME[n].pixels for n in names) / REFERENCE_PIXELS
