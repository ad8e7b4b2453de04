"""``videoforge transcode`` over every real file in ``../shared/media``, under this machine's
FFmpeg and under Debian 13's 7.1 (a debootstrap chroot): the outcome MANIFEST.tsv expects,
and outputs that hold up (see :mod:`tests.support.ladder_checks`).

ACCEPT must give a correct ladder; REJECT exit 2 with one ``error:`` line; EDGE either.
Never exit 1, never a traceback, on either FFmpeg.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ops import ffmpeg_chroot
from tests.support.ladder_checks import check_ladder

REPO = Path(__file__).resolve().parents[2]
# Beside the clone, as CI has it; VF_SHARED_MEDIA points elsewhere (a git worktree).
MEDIA = Path(os.environ.get("VF_SHARED_MEDIA") or REPO / "../shared/media").resolve()

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass(frozen=True)
class Entry:
    name: str
    expect: str  # ACCEPT, EDGE… or REJECT…
    notes: str

    @property
    def interlaced(self) -> bool:
        return "field_order=tt" in self.notes or "field_order=bb" in self.notes


def _entries() -> list[Entry]:
    manifest = MEDIA / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="") as f:
        return [Entry(row["local_name"], row["expect"], row["notes"])
                for row in csv.DictReader(f, delimiter="\t")]


ENTRIES = _entries()
_ABSENT = pytest.mark.skip(reason=f"{MEDIA} (the shared real-media corpus) is not here")


@pytest.fixture(scope="module", params=["host", "debian13"])
def ffmpeg_env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[str, dict[str, str], Path]]:
    """(flavour, environment for the CLI, where outputs go) for each FFmpeg under test."""
    outputs = tmp_path_factory.mktemp(f"corpus-{request.param}")
    if request.param == "host":
        yield request.param, {}, outputs
        return
    if reason := ffmpeg_chroot.usable():
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("ffmpeg-7.1")
    with ffmpeg_chroot.ffmpeg_in_chroot(work, [MEDIA, outputs]) as env:
        assert " 7.1" in ffmpeg_chroot.version(env)
        yield request.param, env, outputs


def transcode(source: Path, outdir: Path, env: dict[str, str]
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "videoforge", "transcode", str(source), str(outdir)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO), "VF_X264_PRESET": "ultrafast", **env})


@pytest.mark.parametrize("entry", ENTRIES or [pytest.param(None, marks=_ABSENT)],
                         ids=[e.name for e in ENTRIES] or ["corpus"])
def test_real_file(entry: Entry, ffmpeg_env: tuple[str, dict[str, str], Path]) -> None:
    flavour, env, outputs = ffmpeg_env
    outdir = outputs / entry.name
    proc = transcode(MEDIA / entry.name, outdir, env)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 2), f"{flavour}: exit {proc.returncode}\n{proc.stderr}"
    if proc.returncode == 2:
        assert len(errors) == 1 and proc.stderr.strip() == errors[0], proc.stderr
        assert not entry.expect.startswith("ACCEPT"), f"{flavour} rejected it: {errors[0]}"
        return
    assert not entry.expect.startswith("REJECT"), f"{flavour} accepted a file to reject"
    check_ladder(outdir, MEDIA / entry.name, interlaced=entry.interlaced or None, env=env)
