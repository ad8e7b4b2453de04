"""Where a long source is cut: chunk boundaries on output keyframes.

Every quality has a keyframe every ``gop`` output frames (fixed GOP), so a boundary on a
multiple of the GOP keeps HLS segments and quality switches aligned across the joins:
each chunk's encode starts with the keyframe the unchunked encode would have put there.

A chunk's part is cut from the source by stream copy, so it must start on a source
keyframe at or before the chunk's first frame; the frames in between are decoded and
dropped (the *preroll*, the decode overhead of that chunk). Among the GOP multiples near
each ideal boundary the plan takes the one with the shortest preroll. A source whose
keyframes are too far apart for any boundary to be cut cheaply (a screen capture with one
IDR) is not chunked, or, under ``sparse="decode"``, chunked with its preroll counted.

With the top rung copied from the source (passthrough), every quality's GOPs follow the
source's keyframes instead, and the boundaries are source keyframes themselves.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Sparse = Literal["whole", "decode"]
# By default a part starts at least this many frames before its chunk's first frame, so
# the frames just before it (a deinterlacer's previous field, a source frame the rate
# conversion picks for the first slot) decode as they do in the whole source. A
# progressive source at the output rate needs none: a keyframe on the cut is enough.
LEAD_FRAMES = 2
# How far from the ideal boundary (a fraction of the chunk length) a cut may move to find
# a cheaper preroll; chunks stay within ±25 % of each other.
_WINDOW = Fraction(1, 4)
# A cut is moved away from its ideal place only to avoid a preroll over this share of the
# limit: decoding a few seconds twice costs less than unequal chunks (the longest one is
# the job's turnaround).
_CHEAP_SHARE = 0.25


@dataclass(frozen=True)
class ChunkPolicy:
    threshold_s: float = 240.0  # only sources longer than this are chunked
    chunk_s: float = 60.0  # about this much output per chunk
    max_preroll_s: float = 10.0  # a cut decoding more than this first counts as sparse
    sparse: Sparse = "whole"


@dataclass(frozen=True)
class Chunk:
    index: int
    first: int  # first output frame it encodes
    frames: int  # output frames it encodes
    part_start_s: float | None  # source-clock time of the keyframe its part starts at
    preroll_s: float  # source time decoded before its first frame, then dropped


@dataclass(frozen=True)
class ChunkPlan:
    rate: Fraction  # output frame rate
    total_frames: int
    gop: int  # output frames per GOP (0: GOPs follow the source's keyframes)
    origin_s: float  # source-clock time of output frame 0
    chunks: tuple[Chunk, ...]

    @property
    def copied_top(self) -> bool:
        """The top rung is the source's video copied: GOPs and cuts are its keyframes."""
        return self.gop == 0

    @property
    def overhead_s(self) -> float:
        """Source seconds decoded twice because of the cuts."""
        return sum(c.preroll_s for c in self.chunks)

    def end_s(self, chunk: Chunk) -> float:
        """Source-clock time just after ``chunk``'s last frame."""
        return self.origin_s + float((chunk.first + chunk.frames) / self.rate)

    def start_s(self, chunk: Chunk) -> float:
        return self.origin_s + float(chunk.first / self.rate)

    def decoded_s(self, chunk: Chunk) -> float:
        """Source seconds ``chunk`` decodes: its own and its preroll."""
        return float(chunk.frames / self.rate) + chunk.preroll_s


@dataclass(frozen=True)
class Decision:
    plan: ChunkPlan | None  # None: transcode whole
    reason: str  # why, for the log


def decide(*, rate: Fraction, frames: int, gop: int, origin_s: float,
           keyframes_s: Sequence[float], policy: ChunkPolicy,
           copied_top: bool = False, lead_frames: int = LEAD_FRAMES) -> Decision:
    """Chunk a source of ``frames`` output frames at ``rate``, or say why not.

    ``keyframes_s``: the source's keyframe times on its own clock, ascending;
    ``origin_s``: where output frame 0 is on that clock (the first decodable frame).
    """
    seconds = float(frames / rate)
    if seconds <= policy.threshold_s:
        return Decision(None, f"{seconds:.0f} s is not over the {policy.threshold_s:g} s "
                              "chunking threshold")
    count = max(2, round(seconds / policy.chunk_s))
    keys = sorted(keyframes_s)
    if copied_top:
        firsts = _on_source_keyframes(keys, rate=rate, frames=frames, origin_s=origin_s,
                                      count=count)
    else:
        firsts = _on_gops(keys, rate=rate, frames=frames, gop=gop, origin_s=origin_s,
                          count=count, lead=lead_frames,
                          cheap_s=policy.max_preroll_s * _CHEAP_SHARE)
    if len(firsts) < 2:
        return Decision(None, "too few keyframes to cut at")
    chunks = []
    for index, (first, end) in enumerate(zip(firsts, [*firsts[1:], frames], strict=True)):
        start, preroll = _part_start(keys, origin_s + float(first / rate), rate,
                                     lead=lead_frames, exact=copied_top)
        if index == 0:
            start, preroll = None, 0.0  # the first part is the source's beginning
        elif start is None:
            return Decision(None, "no source keyframe before a cut")
        chunks.append(Chunk(index, first, end - first, start, preroll))
    worst = max(c.preroll_s for c in chunks)
    if worst > policy.max_preroll_s and policy.sparse == "whole":
        return Decision(None, f"keyframes too sparse to cut: a cut would decode {worst:.1f} s "
                              f"first (limit {policy.max_preroll_s:g} s)")
    plan = ChunkPlan(rate, frames, 0 if copied_top else gop, origin_s, tuple(chunks))
    return Decision(plan, f"{len(chunks)} chunks, {plan.overhead_s:.1f} s decoded twice")


def _part_start(keys: Sequence[float], first_s: float, rate: Fraction, *, lead: int,
                exact: bool) -> tuple[float | None, float]:
    """The keyframe a part for a chunk starting at ``first_s`` starts at, and its preroll."""
    if exact:  # the cut is the keyframe itself (the one nearest, as frames round)
        nearest = min(keys, key=lambda k: abs(k - first_s), default=None)
        return nearest, 0.0
    latest = first_s - float(lead / rate)
    at = bisect.bisect_right(keys, latest + 1e-6) - 1
    if at < 0:
        return None, math.inf
    return keys[at], max(0.0, first_s - keys[at])


def _on_gops(keys: Sequence[float], *, rate: Fraction, frames: int, gop: int,
             origin_s: float, count: int, lead: int, cheap_s: float) -> list[int]:
    """First frames of ``count`` chunks (fewer if the source has too few GOPs), each a
    multiple of ``gop``: the one nearest its ideal place whose preroll is at most
    ``cheap_s``, else the one at its ideal place."""
    gops = math.ceil(frames / gop)
    count = min(count, gops)
    window = max(1, int(gops / count * _WINDOW))
    firsts = [0]
    for i in range(1, count):
        ideal = round(i * gops / count)
        low = max(firsts[-1] // gop + 1, ideal - window)
        high = min(gops - 1, ideal + window)
        if low > high:
            continue

        def preroll(g: int) -> float:
            return _part_start(keys, origin_s + float(g * gop / rate), rate, lead=lead,
                               exact=False)[1]

        distance = {g: abs(g - ideal) for g in range(low, high + 1)}
        nearest_first = sorted(distance, key=distance.__getitem__)
        # With no cheap cut near, every cut decodes a lot first: keep the chunks even.
        cheap = next((g for g in nearest_first if preroll(g) <= cheap_s), nearest_first[0])
        firsts.append(cheap * gop)
    return firsts


def _on_source_keyframes(keys: Sequence[float], *, rate: Fraction, frames: int,
                         origin_s: float, count: int) -> list[int]:
    """First frames of ``count`` chunks cut at the source keyframes nearest their ideal
    places (the copied rung's GOPs, which every quality follows)."""
    at_frames = sorted({round((k - origin_s) * rate) for k in keys})
    at_frames = [f for f in at_frames if 0 < f < frames]
    firsts = [0]
    for i in range(1, count):
        ideal = i * frames / count
        later = [f for f in at_frames if f > firsts[-1]]
        if not later:
            break
        best = min(later, key=lambda f: abs(f - ideal))
        if best not in firsts:
            firsts.append(best)
    return firsts


def copy_mismatch(plan: ChunkPlan, pts_s: Sequence[float]) -> str | None:
    """Why the source's frames (their timestamps) do not fill a copied top rung's chunks
    exactly, or None. A copied part holds the source's frames between two cuts, so a
    dropped or doubled frame (a source constant-rate only within passthrough's tolerance)
    would give a chunk more or fewer frames than planned, and the stitch would refuse it."""
    if not plan.copied_top:
        return None
    half = float(1 / plan.rate) / 2
    ordered = sorted(pts_s)
    for chunk, after in zip(plan.chunks, plan.chunks[1:], strict=False):
        assert after.part_start_s is not None  # every cut after the first has its keyframe
        start = -math.inf if chunk.part_start_s is None else chunk.part_start_s - half
        held = bisect.bisect_left(ordered, after.part_start_s - half) \
            - bisect.bisect_left(ordered, start)
        if held != chunk.frames:
            return (f"chunk {chunk.index + 1} would copy {held} source frames, not the "
                    f"{chunk.frames} planned")
    return None

