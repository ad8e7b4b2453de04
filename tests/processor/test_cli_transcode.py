"""``videoforge transcode``: exit codes, the one-line error, the summary."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.clips import BAD_INPUTS
from videoforge.cli import main

Clip = Callable[[str], Path]
ROOT = Path(__file__).resolve().parents[2]


def videoforge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "videoforge", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=120,
    )


def test_success_prints_the_outputs(clip: Clip, tmp_path: Path) -> None:
    proc = videoforge("transcode", str(clip("small")), str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert f"in {tmp_path / 'out'}" in proc.stdout
    assert "120p.mp4" in proc.stdout and "hls/master.m3u8" in proc.stdout
    assert "100.0%" in proc.stderr  # the progress line
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_bad_input_in_a_real_process_is_one_line_and_exit_2(clip: Clip, tmp_path: Path) -> None:
    proc = videoforge("transcode", str(clip("truncated")), str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: truncated or incomplete file: the MP4 index (moov) is missing"]


def test_an_outdir_that_cannot_be_made_is_one_line_and_exit_1(clip: Clip, tmp_path: Path
                                                             ) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = videoforge("transcode", str(clip("small")), str(blocker / "out"))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"error: cannot create {blocker / 'out'}: Not a directory"]


@pytest.mark.parametrize("outdir", ["out:1", "out %d", "out%03d.mp4"])
def test_any_outdir_name_is_taken_literally(clip: Clip, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, outdir: str) -> None:
    """A relative name with a colon is no FFmpeg protocol, a "%d" no image pattern."""
    monkeypatch.chdir(tmp_path)
    assert main(["transcode", str(clip("small")), outdir]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [outdir]
    assert {"storyboard.jpg", "thumbnail.jpg", "120p.mp4"} <= {
        p.name for p in (tmp_path / outdir).iterdir()}


@pytest.mark.parametrize(("name", "reason"), BAD_INPUTS.items())
def test_bad_inputs_exit_2_with_one_error_line(clip: Clip, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                name: str, reason: str) -> None:
    assert main(["transcode", str(clip(name)), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and reason in err and err.count("\n") == 1


@pytest.mark.parametrize(("flags", "reason"), [
    (["--max-duration", "2"], "too long"),
    (["--max-size", "1000"], "file too big"),
    (["--max-pixels", "100000"], "frame too large"),
    (["--quality", "720p,8k"], "unknown quality '8k'"),
])
def test_limits_and_qualities_from_flags(clip: Clip, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         flags: list[str], reason: str) -> None:
    assert main(["transcode", str(clip("ladder")), str(tmp_path), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and reason in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())  # rejected before anything was written


def test_limits_from_the_environment(clip: Clip, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VF_MAX_DURATION_S", "1.5")
    assert main(["transcode", str(clip("ladder")), str(tmp_path)]) == 2
    assert "exceeds the 1.5 s limit" in capsys.readouterr().err
