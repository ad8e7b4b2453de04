"""A chunked transcode is indistinguishable from an unchunked one (issue 10), run in one
process: frame counts, durations, continuous timestamps, keyframes and fragments aligned,
SSIM, size, audio."""

from __future__ import annotations

from pathlib import Path

import pytest

from processor.chunking.local import transcode_chunked
from processor.chunking.plan import ChunkPolicy
from processor.encode import EncodeSettings
from processor.transcode import transcode
from processor.transcode_settings import TranscodeSettings
from tests.support.chunking import check_indistinguishable, make_long_source

# veryfast, as the worker encodes: rate control (VBV, lookahead) is what chunk starts
# disturb, and ultrafast has too little of it to show.
SETTINGS = TranscodeSettings(encode=EncodeSettings(preset="veryfast"))
# 16 s in chunks of ~6 s: three chunks, two joins (more joins per second than production).
POLICY = ChunkPolicy(threshold_s=10, chunk_s=6)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("equivalence")
    source = make_long_source(root / "source.mp4", seconds=16)
    transcode(source, root / "whole", settings=SETTINGS)
    result = transcode_chunked(source, root / "chunked", settings=SETTINGS, policy=POLICY,
                               workdir=root / "work")
    assert result.decision.plan is not None, result.decision.reason
    assert len(result.decision.plan.chunks) == 3
    return source, root / "whole", root / "chunked"


def test_chunked_outputs_are_indistinguishable_from_unchunked(
        outputs: tuple[Path, Path, Path]) -> None:
    source, whole, chunked = outputs
    figures = check_indistinguishable(whole, chunked, source)
    print(figures)
