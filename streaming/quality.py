"""What a caller may name a quality: the ladder's names and aliases as POST /api/jobs takes
them (common/qualities.py), or the own-size name of a small source's one quality."""

from __future__ import annotations

import re

from common.errors import Invalid
from common.qualities import ALIASES, QUALITY_NAMES

# A source below the lowest rung keeps its own size and is named by its short side
# ("240p", "36p"; processor/ladder.py).
_OWN_SIZE = re.compile(r"^[1-9][0-9]{1,3}p$")


def quality_name(text: str) -> str:
    """The published quality ``text`` names; :class:`Invalid` (422) for anything else."""
    lowered = text.strip().lower()
    if lowered in ALIASES:
        return ALIASES[lowered]
    if _OWN_SIZE.match(lowered):
        return lowered
    raise Invalid(f"unknown quality {text!r}; choose auto, {', '.join(QUALITY_NAMES)}, an "
                  "alias (4k, uhd, fhd, hd, sd) or a name /qualities lists",
                  code="unknown_quality")
