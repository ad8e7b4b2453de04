"""What this machine's FFmpeg build can do: its filters (zscale is optional in many builds)
and the codecs it can decode (VVC, for one, depends on the version)."""

from __future__ import annotations

import subprocess
from functools import lru_cache


def _listing(option: str) -> list[list[str]]:
    out = subprocess.run(["ffmpeg", "-hide_banner", option], capture_output=True, text=True,
                         check=False).stdout
    return [line.split() for line in out.splitlines()]


@lru_cache
def available_filters() -> frozenset[str]:
    # Lines look like " .SC zscale  V->V  Apply resizing…"; the header has no flags column.
    return frozenset(parts[1] for parts in _listing("-filters")
                     if len(parts) >= 3 and "->" in parts[2])


def has_filter(name: str) -> bool:
    return name in available_filters()


@lru_cache
def decodable_codecs() -> frozenset[str]:
    # After a "-------" rule, lines look like " DEV.LS h264  H.264 / AVC …": the first
    # flag is D when some decoder exists for the codec.
    rows = _listing("-codecs")
    start = next((i for i, parts in enumerate(rows) if parts and set(parts[0]) == {"-"}), 0)
    return frozenset(parts[1] for parts in rows[start + 1:]
                     if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] == "D")


def can_decode(codec: str) -> bool:
    return codec in decodable_codecs()
