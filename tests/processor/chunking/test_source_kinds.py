"""Chunked equals unchunked for the sources that make cutting hard: one keyframe in the
whole file (decoded from it, under the setting), a film rate, an interlaced broadcast
transport stream whose clock starts late, audio that starts after the video."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from processor.chunking.local import transcode_chunked
from processor.chunking.plan import ChunkPolicy
from processor.transcode import transcode
from tests.support.chunking import check_indistinguishable
from tests.support.source_kinds import X264, ffmpeg, pattern, tone
from tests.support.transcoding import FAST

POLICY = ChunkPolicy(threshold_s=6, chunk_s=4)
SECONDS = 10


def one_idr(path: Path) -> Path:
    """A screen capture: one keyframe, then only P-frames."""
    ffmpeg(*pattern(rate=30, seconds=SECONDS), *tone(SECONDS), *X264, "-g", "100000",
           "-c:a", "aac", str(path))
    return path


def film_rate(path: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=24000/1001:duration={SECONDS}",
           *tone(SECONDS), *X264, "-bf", "2", "-g", "36", "-c:a", "aac", str(path))
    return path


def interlaced_ts(path: Path) -> Path:
    """576i25 MPEG-2 in MPEG-TS (its clock starts at 1.4 s), keyframes every 12 frames."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=720x576:rate=50:duration={SECONDS}",
           *tone(SECONDS), "-vf", "tinterlace=interleave_top,setsar=16/15",
           "-c:v", "mpeg2video", "-flags", "+ilme+ildct", "-top", "1", "-b:v", "3M",
           "-g", "12", "-c:a", "mp2", "-f", "mpegts", str(path))
    return path


def late_audio(path: Path) -> Path:
    ffmpeg(*pattern(seconds=SECONDS), "-itsoffset", "0.5", *tone(SECONDS - 0.5), *X264,
           "-g", "50", "-c:a", "aac", str(path))
    return path


KINDS: dict[str, tuple[Callable[[Path], Path], ChunkPolicy]] = {
    "one_idr": (one_idr, ChunkPolicy(threshold_s=6, chunk_s=4, sparse="decode")),
    "film_rate": (film_rate, POLICY),
    "interlaced_ts": (interlaced_ts, POLICY),
    "late_audio": (late_audio, POLICY),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_hard_sources_chunk_like_they_transcode(kind: str, tmp_path: Path) -> None:
    make, policy = KINDS[kind]
    source = make(tmp_path / ("source.ts" if kind.endswith("_ts") else "source.mp4"))
    transcode(source, tmp_path / "whole", settings=FAST)
    result = transcode_chunked(source, tmp_path / "chunked", settings=FAST, policy=policy,
                               workdir=tmp_path / "work")
    plan = result.decision.plan
    assert plan is not None and len(plan.chunks) >= 2, result.decision.reason
    if kind == "one_idr":  # every cut decodes from the one keyframe: counted
        assert plan.overhead_s == pytest.approx(sum(plan.start_s(c) for c in plan.chunks))
    check_indistinguishable(tmp_path / "whole", tmp_path / "chunked", source, sizes=False)


def test_a_source_with_one_keyframe_runs_whole_by_default(tmp_path: Path) -> None:
    source = one_idr(tmp_path / "source.mp4")
    result = transcode_chunked(source, tmp_path / "out", settings=FAST,
                               policy=ChunkPolicy(threshold_s=6, chunk_s=4, max_preroll_s=1),
                               workdir=tmp_path / "work")
    assert result.decision.plan is None and "sparse" in result.decision.reason
    assert (tmp_path / "out" / "manifest.json").is_file()
