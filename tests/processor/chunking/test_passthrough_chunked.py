"""Chunked passthrough (issue 11 with issue 10): a long source whose top rung is copied is
cut at its own keyframes; its chunks encode the lower rungs only, the top rung is its
packets, and the stitched outputs match the unchunked passthrough's: payloads, keyframes
and fragments aligned in every quality, frame counts and durations. In one process
(``local.py``) and through the worker and the real queue."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from common.job_state import JobStatus
from common.models import TaskKind
from processor.chunking.local import transcode_chunked
from processor.chunking.plan import ChunkPolicy
from processor.cmaf import read_index
from processor.encode import EncodeSettings
from processor.outcome import Outcome
from processor.transcode import transcode
from processor.transcode_settings import TranscodeSettings
from tests.processor.chunking.worker_checks import tasks_of, work_keys
from tests.processor.test_passthrough import COMPLIANT, _payloads
from tests.support.chunking import track
from tests.support.media import keyframe_times, make_clip
from tests.support.worker import Stack

SETTINGS = TranscodeSettings(encode=EncodeSettings(preset="ultrafast"))
# 16 s, keyframes every 2 s, in chunks of ~6 s: cuts at the keyframes at 6 s and 10 s.
POLICY = ChunkPolicy(threshold_s=10, chunk_s=6)
QUALITIES = ("480p", "720p")


@pytest.fixture(scope="module")
def compliant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chunked_passthrough") / "compliant.mp4"
    return make_clip(path, duration=16.0, size="1280x720", rate=10,
                     extra_output_args=COMPLIANT)


@pytest.fixture(scope="module")
def whole(compliant: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("whole")
    transcode(compliant, out, settings=SETTINGS)
    return out


def check_like_unchunked_passthrough(chunked: Path, whole: Path, source: Path) -> None:
    top = chunked / "720p.mp4"
    assert _payloads(top, "v") == _payloads(source, "v")  # the source's packets, unchanged
    assert _payloads(top, "a") == _payloads(source, "a")  # AAC stereo: copied
    keys = keyframe_times(source)
    assert keys == pytest.approx([float(t) for t in range(0, 16, 2)])
    for quality in QUALITIES:
        path = chunked / f"{quality}.mp4"
        assert keyframe_times(path) == pytest.approx(keys, abs=1e-3), quality
        starts = [f.start_s for f in read_index(path).fragments]
        assert starts == pytest.approx(keys, abs=1e-3), quality
        for kind in ("v", "a"):
            ours, theirs = track(path, kind), track(whole / f"{quality}.mp4", kind)
            assert len(ours.pts) == len(theirs.pts), (quality, kind)
            assert ours.end == theirs.end, (quality, kind)
        # Every frame at the same instant (the time bases may differ).
        assert _times(path) == _times(whole / f"{quality}.mp4"), quality


def _times(path: Path) -> list[Fraction]:
    video = track(path, "v")
    return [p * video.time_base for p in sorted(video.pts)]


def test_a_copied_top_rung_is_chunked_at_the_source_keyframes(
        compliant: Path, whole: Path, tmp_path: Path) -> None:
    result = transcode_chunked(compliant, tmp_path / "out", settings=SETTINGS, policy=POLICY,
                               workdir=tmp_path / "work")
    plan = result.decision.plan
    assert plan is not None and plan.copied_top, result.decision.reason
    assert [c.first for c in plan.chunks] == [0, 60, 100]
    assert all(c.preroll_s == 0 for c in plan.chunks)
    check_like_unchunked_passthrough(tmp_path / "out", whole, compliant)


def test_a_copied_top_rung_is_chunked_through_the_worker(
        stack: Stack, compliant: Path, whole: Path, tmp_path: Path) -> None:
    job = stack.submit(compliant)
    worker = stack.worker(chunk_threshold_s=10, chunk_length_s=6)
    outcomes: list[Outcome] = []
    while stack.job(job.id).status in (JobStatus.QUEUED, JobStatus.RUNNING):
        outcome = worker.step(wait_s=1)
        assert outcome is not None and len(outcomes) < 10
        outcomes.append(outcome)
    assert outcomes == [Outcome.SUCCEEDED] * 5
    done = stack.job(job.id)
    assert done.status == JobStatus.SUCCEEDED and done.chunked
    assert [t.kind for t in tasks_of(stack, job.id)] == [
        TaskKind.AUDIO, *[TaskKind.CHUNK] * 3, TaskKind.STITCH]
    assert work_keys(stack, job.id) == []
    out = tmp_path / "published"
    out.mkdir()
    for key in stack.media_keys(done):
        if key.endswith(tuple(f"/{q}.mp4" for q in QUALITIES)):
            stack.s3.download_file(stack.resources.media_bucket, key,
                                   str(out / key.rsplit("/", 1)[1]))
    check_like_unchunked_passthrough(out, whole, compliant)
