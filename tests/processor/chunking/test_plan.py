"""Chunk boundaries: on output keyframes, cheap to cut, or not chunked at all."""

from __future__ import annotations

from fractions import Fraction

import pytest

from processor.chunking import prepare
from processor.chunking.plan import ChunkPolicy, Decision, copy_mismatch, decide
from processor.encode import Timeline

NTSC = Fraction(30000, 1001)
POLICY = ChunkPolicy(threshold_s=240, chunk_s=60, max_preroll_s=10)


def _keys(every_s: float, seconds: float) -> list[float]:
    return [i * every_s for i in range(int(seconds / every_s) + 1)]


def test_short_sources_are_not_chunked() -> None:
    decision = decide(rate=Fraction(25), frames=25 * 240, gop=50, origin_s=0.0,
                      keyframes_s=_keys(2, 240), policy=POLICY)
    assert decision.plan is None
    assert "threshold" in decision.reason


def test_boundaries_are_gop_multiples_and_cover_every_frame() -> None:
    frames = round(600 * NTSC)  # 10 minutes
    decision = decide(rate=NTSC, frames=frames, gop=60, origin_s=0.0,
                      keyframes_s=_keys(3.003, 600), policy=POLICY)
    plan = decision.plan
    assert plan is not None
    assert len(plan.chunks) == 10
    assert [c.first % 60 for c in plan.chunks] == [0] * 10
    assert plan.chunks[0].first == 0 and plan.chunks[0].part_start_s is None
    for before, after in zip(plan.chunks, plan.chunks[1:], strict=False):
        assert before.first + before.frames == after.first
    assert sum(c.frames for c in plan.chunks) == frames
    # Every chunk is within a quarter of the ideal length.
    ideal = frames / 10
    assert all(abs(c.frames - ideal) <= ideal / 2 for c in plan.chunks)


def test_each_part_starts_on_a_keyframe_before_its_chunk_with_the_cheapest_preroll() -> None:
    keys = _keys(3.003, 600)
    plan = decide(rate=NTSC, frames=round(600 * NTSC), gop=60, origin_s=0.0,
                  keyframes_s=keys, policy=POLICY).plan
    assert plan is not None
    for chunk in plan.chunks[1:]:
        start = plan.start_s(chunk)
        assert chunk.part_start_s in keys
        assert chunk.part_start_s is not None and chunk.part_start_s < start
        # Keyframes every 90 frames, GOPs of 60: the boundary nearest its ideal place
        # decodes at most a source GOP first (a keyframe on it is not used: it needs 2
        # frames before it).
        assert chunk.preroll_s == pytest.approx(start - chunk.part_start_s)
        assert 0 < chunk.preroll_s <= 90 / NTSC + 1e-6
    # Cuts stay at their ideal places (the preroll is cheap everywhere): equal chunks.
    assert {c.frames for c in plan.chunks[:-1]} <= {1800, 1740, 1860}


def test_a_progressive_source_at_the_output_rate_cuts_on_a_keyframe_at_the_boundary() -> None:
    # An editor's export: a keyframe on every output GOP boundary.
    keys = [i * 60 / NTSC for i in range(300)]
    args = dict(rate=NTSC, frames=round(600 * NTSC), gop=60, origin_s=0.0, keyframes_s=keys,
                policy=POLICY)
    exact = decide(**args, lead_frames=0).plan  # type: ignore[arg-type]
    assert exact is not None and exact.overhead_s == pytest.approx(0, abs=1e-6)
    led = decide(**args).plan  # type: ignore[arg-type]
    assert led is not None
    assert all(c.preroll_s == pytest.approx(60 / NTSC) for c in led.chunks[1:])


def test_origin_shifts_the_source_clock() -> None:
    # MPEG-TS style: the first frame is at 1.4 s on the source's clock.
    keys = [1.4 + k for k in _keys(2.0, 400)]
    plan = decide(rate=Fraction(25), frames=25 * 400, gop=50, origin_s=1.4,
                  keyframes_s=keys, policy=POLICY).plan
    assert plan is not None
    for chunk in plan.chunks[1:]:
        assert chunk.part_start_s is not None
        assert chunk.part_start_s <= plan.start_s(chunk) - 2 / 25 + 1e-9


def test_sparse_keyframes_run_whole_or_count_the_overhead() -> None:
    one_idr = [0.0]  # a screen capture: one keyframe at the start
    args = dict(rate=Fraction(30), frames=30 * 600, gop=60, origin_s=0.0, keyframes_s=one_idr)
    whole = decide(**args, policy=POLICY)  # type: ignore[arg-type]
    assert whole.plan is None and "sparse" in whole.reason
    decoded = decide(**args, policy=ChunkPolicy(sparse="decode"))  # type: ignore[arg-type]
    assert decoded.plan is not None
    # Every part starts at the one keyframe: chunk i decodes everything before it first.
    assert all(c.part_start_s == 0.0 for c in decoded.plan.chunks[1:])
    assert decoded.plan.overhead_s == pytest.approx(
        sum(decoded.plan.start_s(c) for c in decoded.plan.chunks))


def test_a_copied_top_rung_cuts_at_the_source_keyframes() -> None:
    keys = _keys(2.5, 300)  # the copied rung's GOPs: 2.5 s
    plan = decide(rate=Fraction(24), frames=24 * 300, gop=48, origin_s=0.0, keyframes_s=keys,
                  policy=POLICY, copied_top=True).plan
    assert plan is not None and plan.gop == 0
    for chunk in plan.chunks[1:]:
        assert chunk.first % 60 == 0  # 2.5 s at 24 fps
        assert chunk.part_start_s == pytest.approx(plan.start_s(chunk))
        assert chunk.preroll_s == 0


def test_too_few_gops_for_two_chunks_runs_whole() -> None:
    decision = decide(rate=Fraction(1), frames=300, gop=300, origin_s=0.0,
                      keyframes_s=[0.0], policy=POLICY)
    assert decision.plan is None


def _frames(seconds: float, rate: Fraction, *, dropped: int | None = None) -> list[float]:
    return [float(i / rate) for i in range(int(seconds * rate)) if i != dropped]


def test_a_copied_top_rung_falls_back_to_encoding_it_when_frames_would_not_fill_chunks() -> None:
    rate, keys = Fraction(24), _keys(2.5, 300)
    timing = Timeline(rate, 24 * 300)

    def choose(pts: list[float]) -> Decision:
        return prepare.choose(timing, origin_s=0.0, keyframes_s=keys, policy=POLICY,
                              copied=True, lead=0, pts_s=pts)

    exact = choose(_frames(300, rate))
    assert exact.plan is not None and exact.plan.copied_top
    # A frame missing from the second chunk (a source constant-rate only within the
    # passthrough tolerance): its copied part would be a frame short, so the top rung is
    # encoded in the chunks, on output GOPs, and the reason says why.
    second = exact.plan.chunks[1]
    dropped = choose(_frames(300, rate, dropped=second.first + 5))
    assert dropped.plan is not None and not dropped.plan.copied_top and dropped.plan.gop == 48
    assert dropped.reason.startswith("top rung not copied in chunks (chunk 2 would copy "
                                     f"{second.frames - 1} source frames")
    assert copy_mismatch(exact.plan, _frames(300, rate)) is None
