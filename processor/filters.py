"""Which FFmpeg filters this machine's build has (zscale is optional in many builds)."""

from __future__ import annotations

import subprocess
from functools import lru_cache


@lru_cache
def available_filters() -> frozenset[str]:
    out = subprocess.run(["ffmpeg", "-hide_banner", "-filters"], capture_output=True,
                         text=True, check=False).stdout
    # Lines look like " .SC zscale  V->V  Apply resizing…"; the header has no flags column.
    return frozenset(parts[1] for line in out.splitlines()
                     if len(parts := line.split()) >= 3 and "->" in parts[2])


def has_filter(name: str) -> bool:
    return name in available_filters()
