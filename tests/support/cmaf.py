"""Checks of CMAF outputs and storyboards shared by the processor, streaming and browser
tests."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def packet_counts(path: Path | str) -> dict[str, int]:
    """Packets per stream type that FFmpeg reads from ``path`` (a file or a URL)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-show_entries",
         "stream=codec_type,nb_read_packets", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True, timeout=120).stdout
    counts: dict[str, int] = {}
    for line in out.split():
        kind, count = line.split(",")[:2]
        counts[kind] = counts.get(kind, 0) + int(count)
    return counts


def byte_ranges(playlist: str) -> tuple[str, list[tuple[int, int]]]:
    """The media URI (the EXT-X-DEFINE value) of a variant playlist and the (offset,
    length) of its init segment, then of each media segment in order."""
    uri = re.search(r'#EXT-X-DEFINE:NAME="media",VALUE="([^"]+)"', playlist)
    init = re.search(r'#EXT-X-MAP:URI="\{\$media\}",BYTERANGE="(\d+)@(\d+)"', playlist)
    assert uri and init, playlist[:500]
    ranges = [(int(init.group(2)), int(init.group(1)))]
    for length, offset in re.findall(r"#EXT-X-BYTERANGE:(\d+)(?:@(\d+))?\n\{\$media\}",
                                     playlist):
        start = int(offset) if offset else sum(ranges[-1])
        ranges.append((start, int(length)))
    return uri.group(1), ranges


CUE = re.compile(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n"
                 r"(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)")


def parse_cues(text: str) -> list[tuple[float, float, str, tuple[int, int, int, int]]]:
    """(start, end, sprite URI, (x, y, w, h)) of each cue of a storyboard's WebVTT."""
    def seconds(h: str, m: str, s: str, ms: str) -> float:
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    assert text.startswith("WEBVTT\n\n")
    return [(seconds(*g[0:4]), seconds(*g[4:8]), g[8], tuple(int(v) for v in g[9:13]))
            for g in CUE.findall(text)]
