"""Deciding whether a source is chunked, and where: the plan from its packet scan.

The scan reads every video packet's timestamp and flags (nothing is decoded), which the
split then uses to cut the parts. A source is not chunked when cutting it by timestamp
is unsafe: timestamps that do not increase, or jump (a broadcast stream's discontinuity:
the packets span a different time than intake measured).

With the top rung copied (passthrough), the cuts are the source's keyframes and each
chunk copies the source's frames between two of them. When that cannot be planned (too
few keyframes) or the frames would not fill the chunks exactly (``plan.copy_mismatch``),
the job is still chunked, its top rung encoded in the chunks like the others, and the
decision's reason (logged as ``chunking_decision``) says why the copy was given up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from processor import passthrough
from processor.chunking.plan import LEAD_FRAMES, ChunkPolicy, Decision, copy_mismatch, decide
from processor.chunking.source import Packet, first_frame_time, probe_packets
from processor.chunking.split import keyframes_of
from processor.encode import Timeline, gop_frames, output_rate
from processor.errors import TranscodeError
from processor.ladder import Rung
from processor.source_info import SourceInfo

# Packets spanning more or less time than intake measured, by more than this: a jump.
_SPAN_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class Scan:
    decision: Decision
    packets: list[Packet]


def plan_source(source: Path, info: SourceInfo, rungs: Sequence[Rung], timing: Timeline,
                policy: ChunkPolicy, *, passthrough_on: bool = True) -> Scan:
    """The chunk plan for ``source`` (or why it runs whole) and its video packets."""
    seconds = timing.seconds
    if seconds <= policy.threshold_s:
        return Scan(Decision(None, f"{seconds:.0f} s is not over the {policy.threshold_s:g} s "
                                   "chunking threshold"), [])
    if info.video.frame_count == 1:  # held for its soundtrack (intake): nothing to cut
        return Scan(Decision(None, "not cut: a single picture"), [])
    # A copied top rung makes every quality's GOPs the source's: the cuts are its keyframes.
    copied = passthrough_on and passthrough.plan(source, info, rungs).taken
    try:
        packets = probe_packets(source, info.container, index=info.video.index)
        keys = keyframes_of(packets)
        origin = first_frame_time(source, info.container, index=info.video.index)
    except TranscodeError as exc:
        return Scan(Decision(None, f"not cut: {exc}"), [])
    span = max(p.pts_s for p in packets) - min(p.pts_s for p in packets)
    if abs(span - info.duration_s) > _SPAN_TOLERANCE_S + 2 / max(info.video.fps, 1):
        return Scan(Decision(None, f"not cut: the timestamps jump ({span:.1f} s of them "
                                   f"for {info.duration_s:.1f} s of video)"), packets)
    decision = choose(timing, origin_s=origin, keyframes_s=keys, policy=policy,
                      copied=copied, lead=lead_frames(info, timing),
                      pts_s=[p.pts_s for p in packets])
    return Scan(decision, packets)


def choose(timing: Timeline, *, origin_s: float, keyframes_s: Sequence[float],
           policy: ChunkPolicy, copied: bool, lead: int, pts_s: Sequence[float]) -> Decision:
    """The plan: at the source's keyframes when the top rung is ``copied`` and its frames
    fill the chunks exactly, else on output GOPs (the top rung then encoded)."""
    def on(copied_top: bool) -> Decision:
        return decide(rate=timing.rate, frames=timing.frames, gop=gop_frames(timing.rate),
                      origin_s=origin_s, keyframes_s=keyframes_s, policy=policy,
                      copied_top=copied_top, lead_frames=0 if copied_top else lead)

    if not copied:
        return on(False)
    decision = on(True)
    why = decision.reason if decision.plan is None else copy_mismatch(decision.plan, pts_s)
    if why is None:
        return decision
    encoded = on(False)
    return Decision(encoded.plan, f"top rung not copied in chunks ({why}); {encoded.reason}")


def lead_frames(info: SourceInfo, timing: Timeline) -> int:
    """Frames a part needs before its chunk: none for a progressive constant-rate source
    at the output rate (its keyframe on the cut decodes to exactly the first frame)."""
    video = info.video
    same_rate = abs(video.fps - float(output_rate(info))) < 1e-3
    if video.interlaced or video.is_vfr or not same_rate or timing.rate != output_rate(info):
        return LEAD_FRAMES
    return 0
